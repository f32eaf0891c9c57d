// SPDX-License-Identifier: Apache-2.0
// The calendar periods quotas count in (SPEC §4: GPU-seconds per calendar day, dollars per
// calendar month). The one place that knows what a day and a month are: those of
// `defaults.timezone`, through QuotaCalendar (a Berlin user's month starts at local midnight;
// a DST day is 23 or 25 hours).

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
    public let calendar: QuotaCalendar

    public init(calendar: QuotaCalendar = .utc) {
        self.calendar = calendar
    }

    public static let utc = QuotaPeriods()

    /// The period of `span` that `unixSeconds` falls in.
    public func period(_ span: QuotaSpan, at unixSeconds: Int64) -> QuotaPeriod {
        switch span {
        case .day: return day(at: unixSeconds)
        case .month: return month(at: unixSeconds)
        }
    }

    /// The calendar day containing the instant.
    public func day(at unixSeconds: Int64) -> QuotaPeriod {
        let day = calendar.day(containing: unixSeconds)
        return QuotaPeriod(start: day.start, end: day.end)
    }

    /// The calendar month containing the instant.
    public func month(at unixSeconds: Int64) -> QuotaPeriod {
        let month = calendar.month(containing: unixSeconds)
        return QuotaPeriod(start: month.start, end: month.end)
    }
}
