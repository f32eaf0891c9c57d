// SPDX-License-Identifier: Apache-2.0
// The last routing decisions of one model, with every candidate's inputs, so
// `GET /admin/backends` can explain why a request went where it went (issue 12 item 1). A
// fixed ring: one short lock per decision, nothing grows.
import Synchronization
import TollgateCore
import TollgateRouting

final class DecisionLog: Sendable {
    /// One candidate as the router saw it.
    struct Candidate: Sendable {
        var backend: String
        var expectedCost: MicroDollars
        var expectedLatencyMs: Int64
        var pCold: Double
        var inFlight: Int
        var picked: Bool
        /// Why it was not picked (nil: picked, or a cheaper one won), kept as the router's
        /// value with what its text needs, and put in words only when read: a decision
        /// formats nothing (issue 12: the decision's cost per request).
        var skipReason: SkipReason?
        /// The `.unavailable` reason, or an open circuit's last failure, at the decision.
        var detail: String?
        /// The decision's monotonic time (an open circuit's "open for" counts from it).
        var atNs: UInt64

        /// Why it was not picked, in the 503's words (nil: picked, or a cheaper one won).
        var skip: String? { skipReason.map { RequestRoute.text($0, nowNs: atNs, detail: detail) } }
    }

    struct Entry: Sendable {
        var atUnixMs: Int64
        var model: String
        var candidates: [Candidate]
    }

    static let capacity = 16
    private struct Ring {
        var entries: [Entry] = []
        var next = 0
    }
    private let ring = Mutex(Ring())

    func record(_ entry: Entry) {
        ring.withLock { r in
            if r.entries.count < Self.capacity {
                r.entries.append(entry)
            } else {
                r.entries[r.next] = entry
            }
            r.next = (r.next + 1) % Self.capacity
        }
    }

    /// Oldest first.
    func entries() -> [Entry] {
        ring.withLock { r in
            guard r.entries.count == Self.capacity else { return r.entries }
            return Array(r.entries[r.next...] + r.entries[..<r.next])
        }
    }
}
