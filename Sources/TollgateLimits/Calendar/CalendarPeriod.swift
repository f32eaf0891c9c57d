// SPDX-License-Identifier: Apache-2.0
public import TollgateCore

/// A local calendar day or month as the instants it spans: `[start, end)` in unix seconds.
/// In a zone with daylight saving time a day is 23, 24 or 25 hours long (Lord Howe: 23.5 or
/// 24.5), so the length is always `end - start`, never assumed.
public struct CalendarPeriod: Sendable, Hashable {
    /// The first local day of the period (the day itself, or the 1st of the month).
    public let date: CivilDate
    /// Unix seconds of the period's first instant.
    public let start: Int64
    /// Unix seconds of the first instant after the period (the next period's start).
    public let end: Int64

    public init(date: CivilDate, start: Int64, end: Int64) {
        self.date = date
        self.start = start
        self.end = end
    }

    public var seconds: Int64 { end - start }

    public func contains(_ unixSeconds: Int64) -> Bool { start <= unixSeconds && unixSeconds < end }
}
