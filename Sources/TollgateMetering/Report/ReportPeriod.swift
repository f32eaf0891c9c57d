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

    /// `2026-11-30T08:00:00Z` (seconds; the millisecond part is dropped).
    public static func timestampText(unixMs: Int64) -> String {
        CivilDate.dateTimeText(unixSeconds: unixMs >= 0 ? unixMs / 1_000 : (unixMs - 999) / 1_000) + "Z"
    }
}
