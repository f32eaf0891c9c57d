// SPDX-License-Identifier: Apache-2.0
// A calendar month in UTC as a half-open span of unix milliseconds: the period of the month
// gauges, the budgets and the forecast (all UTC, per the metering contract). Integer
// arithmetic on the proleptic Gregorian calendar, so a leap February is 29 days with no
// time zone database.
import TollgateCore

public struct UTCMonth: Sendable, Hashable, Comparable {
    public let year: Int64
    /// 1…12.
    public let month: Int
    /// Unix milliseconds of the month's first instant.
    public let startMs: Int64
    /// Unix milliseconds of the next month's first instant.
    public let endMs: Int64

    public static let msPerDay: Int64 = 86_400_000

    /// The month that contains `unixMs`.
    public init(containing unixMs: Int64) {
        let day = unixMs >= 0 ? unixMs / Self.msPerDay : (unixMs + 1) / Self.msPerDay - 1
        let date = CivilDate(daysSinceEpoch: day)
        self.init(year: date.year, month: date.month)
    }

    /// The month `month` (1…12; out of range is clamped) of `year`.
    public init(year: Int64, month: Int) {
        let month = min(max(month, 1), 12)
        self.year = year
        self.month = month
        let first = CivilDate.daysSinceEpoch(year: year, month: month, day: 1)
        startMs = first &* Self.msPerDay
        endMs = (first &+ Int64(Self.days(inMonth: month, of: year))) &* Self.msPerDay
    }

    /// The month containing a wall-clock time in unix seconds (a usage record's `ts`).
    public init(containingSeconds seconds: Double) {
        self.init(containing: Self.milliseconds(seconds))
    }

    public func contains(_ unixMs: Int64) -> Bool { unixMs >= startMs && unixMs < endMs }

    /// `2024-02-01`: the first day as the usage log's `day` text, for `day >= …` queries.
    public var firstDayText: String {
        var first = CivilDate(daysSinceEpoch: startMs / Self.msPerDay)
        first.day = 1
        return first.text
    }

    public static func < (a: UTCMonth, b: UTCMonth) -> Bool { a.startMs < b.startMs }

    public static func days(inMonth month: Int, of year: Int64) -> Int {
        CivilDate.days(inMonth: month, of: year)
    }

    /// Unix seconds → milliseconds, rounded down; NaN and absurd values clamp (never trap).
    public static func milliseconds(_ seconds: Double) -> Int64 {
        guard seconds.isFinite else { return 0 }
        return Int64(exactly: (seconds * 1000).rounded(.down)) ?? (seconds > 0 ? .max : .min)
    }
}
