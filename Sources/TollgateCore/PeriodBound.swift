// SPDX-License-Identifier: Apache-2.0
// One end of a usage period as SPEC §1 writes it — `report --since/--until` and `/admin/usage`'s
// `since`/`until`: a span back from now (`1h`, `24h`, `7d`, `30d`: any whole number of hours or
// days) or a UTC calendar day (`2026-11-01`, from its midnight). One parser for both, so the
// command line and the admin API accept exactly the same values.

public enum PeriodBound: Sendable, Equatable {
    /// This many seconds before now.
    case ago(seconds: Int64)
    /// Midnight UTC at the start of this day.
    case day(CivilDate)

    /// The longest span back: ten years is more than any retention, and small enough that no
    /// later multiplication into milliseconds can overflow.
    public static let maximumSeconds: Int64 = 3_650 * 86_400

    /// What `parse` accepts, for error messages.
    public static let expected = "a span back from now such as 1h, 24h, 7d, 30d (any whole number of h or d), or a UTC day YYYY-MM-DD"

    /// `<n>h`, `<n>d` (n ≥ 1, at most ten years back), or a date `YYYY-MM-DD` from 1970 on; nil
    /// for anything else.
    public static func parse(_ text: some StringProtocol) -> PeriodBound? {
        if let date = CivilDate(text: text) { return date.year >= 1970 ? .day(date) : nil }
        let bytes = Array(text.utf8)
        guard let unit = bytes.last, bytes.count >= 2, bytes.count <= 8 else { return nil }
        var count: Int64 = 0
        for byte in bytes.dropLast() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            count = count * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        guard count >= 1 else { return nil }
        let seconds: Int64
        switch unit {
        case UInt8(ascii: "h"): seconds = count * 3_600
        case UInt8(ascii: "d"): seconds = count * 86_400
        default: return nil
        }
        return seconds <= maximumSeconds ? .ago(seconds: seconds) : nil
    }

    /// The instant, in unix milliseconds, given now.
    public func unixMilliseconds(nowMs: Int64) -> Int64 {
        switch self {
        case .ago(let seconds): return nowMs - seconds * 1_000
        case .day(let date): return date.daysSinceEpoch * 86_400_000
        }
    }

    /// The UTC day the instant falls on, given now (unix seconds).
    public func day(nowSeconds: Int64) -> CivilDate {
        switch self {
        case .ago(let seconds): return CivilDate(unixSeconds: nowSeconds - seconds)
        case .day(let date): return date
        }
    }
}
