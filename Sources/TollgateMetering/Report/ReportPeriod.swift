// SPDX-License-Identifier: Apache-2.0
// The span `tollgate report` covers, as unix milliseconds (UTC throughout: M9 contract, "Days and
// months"). Milliseconds because the what-if pricer adds and compares request intervals exactly,
// and the usage log's `ts`/`end_ts` carry milliseconds at most.
import TollgateCore

/// `[startMs, endMs)` in unix milliseconds.
public struct ReportPeriod: Sendable, Equatable {
    public let startMs: Int64
    public let endMs: Int64

    /// An empty or inverted span is kept as given (a report over it is empty, never a trap).
    public init(startMs: Int64, endMs: Int64) {
        self.startMs = startMs
        self.endMs = endMs
    }

    /// The length, never negative.
    public var milliseconds: Int64 { max(0, endMs - startMs) }

    /// Hours, for the JSON `hours` field (exact to the millisecond below 2^53 ms).
    public var hours: Double { Double(milliseconds) / 3_600_000 }

    /// Days since 1970-01-01 of a proleptic Gregorian date (`--since 2026-11-01`); the metrics'
    /// month arithmetic has the algorithm.
    public static func daysSinceEpoch(year: Int64, month: Int, day: Int) -> Int64 {
        UTCMonth.daysSinceEpoch(year: year, month: month, day: day)
    }

    /// `2026-11-30T08:00:00Z` (seconds; the millisecond part is dropped).
    public static func timestampText(unixMs: Int64) -> String {
        let seconds = unixMs >= 0 ? unixMs / 1_000 : (unixMs - 999) / 1_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let date = CivilDate(daysSinceEpoch: days)
        return "\(date.year)-\(pad(date.month))-\(pad(date.day))T\(pad(Int(secondOfDay / 3_600)))"
            + ":\(pad(Int(secondOfDay / 60 % 60))):\(pad(Int(secondOfDay % 60)))Z"
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
