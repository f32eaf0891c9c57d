// SPDX-License-Identifier: Apache-2.0
// IMF-fixdate for the Date header (RFC 9110 §5.6.7), formatted once per second per loop.
import CLinux
import TollgateCore

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
        let date = CivilDate(daysSinceEpoch: days)
        let (year, month, day) = (date.year, date.month, date.day)
        let weekday = Int((days % 7 + 11) % 7)  // 1970-01-01 was a Thursday
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(names[weekday]), \(two(Int64(day))) \(months[month - 1]) \(year) "
            + "\(two(secondsOfDay / 3600)):\(two(secondsOfDay % 3600 / 60)):\(two(secondsOfDay % 60)) GMT"
    }
}
