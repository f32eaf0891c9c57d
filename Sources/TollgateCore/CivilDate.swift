// SPDX-License-Identifier: Apache-2.0
// Unix days ↔ proleptic Gregorian dates, for HTTP's Date header, the access log's timestamps,
// the usage log's daily rollups, the metrics' months and `report`'s periods (UTC throughout, so
// no time zone database is needed). One calendar for all of them: `YYYY-MM-DD` is read and
// written here only.

/// A UTC calendar date.
public struct CivilDate: Sendable, Hashable, Comparable {
    public var year: Int64
    /// 1…12.
    public var month: Int
    /// 1…31.
    public var day: Int

    /// Days since 1970-01-01 → date: Howard Hinnant's `civil_from_days`
    /// (https://howardhinnant.github.io/date_algorithms.html), exact for every Int64 day count
    /// a clock can produce.
    public init(daysSinceEpoch z0: Int64) {
        // Wrapping only where a day count no clock produces could overflow: such a count gives
        // a wrong date, never a trap.
        let z = z0 &+ 719_468
        let era = (z >= 0 ? z : z &- 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = Int(doy - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = month <= 2 ? y + 1 : y
    }

    /// The UTC day `unixSeconds` falls on (rounded down, also before 1970).
    public init(unixSeconds: Int64) {
        self.init(daysSinceEpoch: Self.floorDays(unixSeconds))
    }

    /// A valid date, or nil (month 1…12, day within its month, year 0…9999).
    public init?(year: Int64, month: Int, day: Int) {
        guard (0...9_999).contains(year), (1...12).contains(month), day >= 1, day <= Self.days(inMonth: month, of: year)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// `YYYY-MM-DD` exactly (ASCII digits, a real date), else nil.
    public init?(text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = Self.digits(bytes[0..<4]), let month = Self.digits(bytes[5..<7]),
              let day = Self.digits(bytes[8..<10]) else { return nil }
        self.init(year: Int64(year), month: month, day: day)
    }

    /// Howard Hinnant's `days_from_civil`, the inverse of `init(daysSinceEpoch:)`.
    public var daysSinceEpoch: Int64 { Self.daysSinceEpoch(year: year, month: month, day: day) }

    /// `days_from_civil` for any year (months and days are taken as given, not checked).
    /// Wrapping arithmetic: years no clock reaches give a wrong day, never a trap.
    public static func daysSinceEpoch(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year &- 1 : year
        let era = (y >= 0 ? y : y &- 399) / 400
        let yoe = y &- era &* 400
        let m = Int64(month)
        let doy = (153 &* (m > 2 ? m &- 3 : m &+ 9) &+ 2) / 5 &+ Int64(day) &- 1
        let doe = yoe &* 365 &+ yoe / 4 &- yoe / 100 &+ doy
        return era &* 146_097 &+ doe &- 719_468
    }

    /// `2026-11-30` (the year with four digits at least): the usage log's `day` text.
    public var text: String {
        let y = String(year)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + Self.two(month) + "-" + Self.two(day)
    }

    /// `2026-11-30T08:00:05` for unix seconds, UTC (callers add `Z` or their fraction).
    public static func dateTimeText(unixSeconds: Int64) -> String {
        let days = floorDays(unixSeconds)
        let second = unixSeconds &- days &* 86_400
        return CivilDate(daysSinceEpoch: days).text + "T" + two(Int(second / 3_600)) + ":" + two(Int(second / 60 % 60))
            + ":" + two(Int(second % 60))
    }

    public static func days(inMonth month: Int, of year: Int64) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    private static func floorDays(_ unixSeconds: Int64) -> Int64 {
        unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds + 1) / 86_400 - 1
    }

    private static func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

    /// ASCII digits only (no sign, no spaces), at most four of them.
    private static func digits(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 4 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
