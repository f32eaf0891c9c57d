// SPDX-License-Identifier: Apache-2.0
// Backends that said "not until then" (SPEC §3: a 429 or a platform's quota error cools the
// backend down per its Retry-After or stated reset): every loop skips them until that time,
// and the 503 `no_backend_available` names each skipped candidate's reason. One table per
// plan, shared by the loops; times are the loops' monotonic clock (EventLoop.now), passed in,
// so tests drive it with their own clock. A plan that has no backend cooling down is checked
// with one atomic load, without the lock.
import Synchronization

final class BackendCooldowns: Sendable {
    /// A quota error without a stated reset still keeps the backend out this long, so a
    /// spent quota is not asked again on every request.
    static let defaultNs: UInt64 = 60_000_000_000

    struct Entry: Equatable, Sendable {
        var until: UInt64
        var reason: String
    }

    private let entries: Mutex<[Entry?]>
    /// The latest `until` in the table (0: none ever): past it, nothing cools down.
    private let latest = Atomic<UInt64>(0)

    init(backendCount: Int) {
        entries = Mutex(Array(repeating: nil, count: max(0, backendCount)))
    }

    /// Backend `index` is not to be tried before `until`; a later cool-down already in place
    /// stays (the longer wait wins).
    func coolDown(_ index: Int, until: UInt64, reason: String) {
        entries.withLock { table in
            guard table.indices.contains(index) else { return }
            if let existing = table[index], existing.until >= until { return }
            table[index] = Entry(until: until, reason: reason)
        }
        _ = latest.max(until, ordering: .relaxed)
    }

    /// The cool-down backend `index` is in at `now`, if any.
    func entry(_ index: Int, now: UInt64) -> Entry? {
        guard now < latest.load(ordering: .relaxed) else { return nil }
        return entries.withLock { table in
            guard table.indices.contains(index), let entry = table[index], now < entry.until else { return nil }
            return entry
        }
    }

    /// The reason for a 503's list: the backend's own words and how long it stays out.
    static func describe(_ entry: Entry, now: UInt64) -> String {
        // Rounded up without an addition that could overflow (`until` comes from a platform's
        // text through its adapter), and 0 once it has passed.
        let left = entry.until > now ? entry.until - now : 0
        let (whole, part) = left.quotientAndRemainder(dividingBy: 1_000_000_000)
        let seconds = part == 0 ? whole : whole + 1
        return "\(entry.reason) (cooling down for \(seconds)s)"
    }
}
