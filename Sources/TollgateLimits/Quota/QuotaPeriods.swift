// SPDX-License-Identifier: Apache-2.0
// The calendar periods quotas count in (SPEC §4: GPU-seconds per calendar day, dollars per
// calendar month). The one place that knows what a day and a month are: UTC for now through
// TollgateCore.CivilDate; the zone-aware QuotaCalendar (defaults.timezone) replaces the two
// functions below and nothing else.
import TollgateCore

/// A half-open span of unix seconds `[start, end)`.
public struct QuotaPeriod: Sendable, Equatable {
    public var start: Int64
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    public func contains(_ unixSeconds: Int64) -> Bool { unixSeconds >= start && unixSeconds < end }
}

/// How long a quota's period is.
public enum QuotaSpan: Sendable, Equatable {
    case day
    case month
}

public struct QuotaPeriods: Sendable {
    public init() {}

    public static let utc = QuotaPeriods()

    /// The period of `span` that `unixSeconds` falls in.
    public func period(_ span: QuotaSpan, at unixSeconds: Int64) -> QuotaPeriod {
        switch span {
        case .day: return day(at: unixSeconds)
        case .month: return month(at: unixSeconds)
        }
    }

    /// The calendar day (UTC) containing the instant.
    public func day(at unixSeconds: Int64) -> QuotaPeriod {
        let days = CivilDate(unixSeconds: unixSeconds).daysSinceEpoch
        return QuotaPeriod(start: days &* 86_400, end: (days &+ 1) &* 86_400)
    }

    /// The calendar month (UTC) containing the instant.
    public func month(at unixSeconds: Int64) -> QuotaPeriod {
        let date = CivilDate(unixSeconds: unixSeconds)
        let first = CivilDate.daysSinceEpoch(year: date.year, month: date.month, day: 1)
        let next = date.month == 12
            ? CivilDate.daysSinceEpoch(year: date.year &+ 1, month: 1, day: 1)
            : CivilDate.daysSinceEpoch(year: date.year, month: date.month + 1, day: 1)
        return QuotaPeriod(start: first &* 86_400, end: next &* 86_400)
    }
}
