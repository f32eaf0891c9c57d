// SPDX-License-Identifier: Apache-2.0
// IMF-fixdate for the Date header (RFC 9110 §5.6.7), formatted once per second per loop.
import CLinux

public struct HTTPDate {
    private var second: UInt64 = .max
    /// "Sun, 06 Nov 1994 08:49:37 GMT" (29 bytes).
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Refreshes the cached text if the wall-clock second changed.
    public mutating func update() {
        let now = tg_realtime_ns() / 1_000_000_000
        guard now != second else { return }
        second = now
        bytes = Array(Self.format(unixSeconds: Int64(now)).utf8)
    }

    public static func format(unixSeconds: Int64) -> String {
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let secondsOfDay = unixSeconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        let weekday = Int((days % 7 + 11) % 7)  // 1970-01-01 was a Thursday
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(names[weekday]), \(two(Int64(day))) \(months[month - 1]) \(year) "
            + "\(two(secondsOfDay / 3600)):\(two(secondsOfDay % 3600 / 60)):\(two(secondsOfDay % 60)) GMT"
    }

    /// Days since 1970-01-01 → (year, month 1…12, day 1…31); Howard Hinnant's civil_from_days.
    public static func civil(fromDays z0: Int64) -> (Int64, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, Int(m), Int(d))
    }
}
