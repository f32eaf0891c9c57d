// SPDX-License-Identifier: Apache-2.0
// A Prometheus histogram of durations with the buckets the metering contract fixes (5 ms to
// 10 min). Counts are kept per bucket (not cumulative) so an observation touches one slot;
// the text writer makes them cumulative, as the exposition format requires
// (https://prometheus.io/docs/instrumenting/exposition_formats/#histograms-and-summaries).

public struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds in seconds, ascending; an implicit `+Inf` bucket follows.
    public static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
    /// `bounds` as they appear in the `le` label, then `+Inf`.
    public static let boundLabels: [String] = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
                                               "10", "30", "60", "120", "300", "600", "+Inf"]

    /// Observations per bucket: index i counts values in (bounds[i-1], bounds[i]]; the last
    /// slot counts those above every bound.
    public private(set) var counts: [Int64]
    /// Sum of the observed seconds.
    public private(set) var sum: Double = 0

    public init() {
        counts = Array(repeating: 0, count: Self.bounds.count + 1)
    }

    public var count: Int64 { counts.reduce(0, &+) }

    /// Adds one duration. NaN and negative values (a clock that stepped) count as 0 s, so the
    /// sum never goes down and no bucket index is computed from garbage.
    public mutating func observe(seconds: Double) {
        let value = seconds.isNaN || seconds < 0 ? 0 : seconds
        var slot = 0
        let bounds = Self.bounds
        while slot < bounds.count && value > bounds[slot] { slot += 1 }
        counts[slot] &+= 1
        if value.isFinite { sum += value }
    }

    /// Adds another histogram's observations (another loop's).
    public mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices where index < other.counts.count { counts[index] &+= other.counts[index] }
        sum += other.sum
    }

    /// Counts of observations ≤ each bound, then the total (`le="+Inf"`), as written.
    public var cumulativeCounts: [Int64] {
        var running: Int64 = 0
        return counts.map { running &+= $0; return running }
    }
}
