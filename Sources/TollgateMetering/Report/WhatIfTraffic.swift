// SPDX-License-Identifier: Apache-2.0
// The period's logged requests as the what-if pricer needs them: when each ran and how much GPU
// time it used. Only requests that reached a backend are traffic a platform would have served;
// a 401 or a 429 costs nothing anywhere.
public import TollgateCore

public struct WhatIfTraffic: Sendable, Equatable {
    /// One request: `[startMs, endMs]` in unix milliseconds (the usage row's `ts`, `end_ts`) and
    /// its GPU time (`gpu_ms`).
    public struct Span: Sendable, Equatable {
        public var startMs: Int64
        public var endMs: Int64
        public var gpu: MilliGPUSeconds

        /// An end before the start (a clock step between the two readings) is taken as the start.
        public init(startMs: Int64, endMs: Int64, gpu: MilliGPUSeconds) {
            self.startMs = startMs
            self.endMs = max(startMs, endMs)
            self.gpu = gpu
        }
    }

    /// Sorted by start.
    public let spans: [Span]
    /// The most requests in flight at once: what decides how many always-on instances the same
    /// traffic needs.
    public let peakConcurrency: Int

    public init(spans: [Span]) {
        self.spans = spans.sorted { ($0.startMs, $0.endMs) < ($1.startMs, $1.endMs) }
        self.peakConcurrency = Self.peak(of: self.spans)
    }

    public var count: Int { spans.count }

    public var totalGPU: MilliGPUSeconds { spans.reduce(.zero) { $0 + $1.gpu } }

    /// A sweep over starts and ends. Intervals are half-open `[start, end)`: a request that
    /// starts the millisecond another ends does not overlap it (one instance serves both).
    static func peak(of spans: [Span]) -> Int {
        let ends = spans.map(\.endMs).sorted()
        var endIndex = 0
        var inFlight = 0
        var peak = 0
        for span in spans {
            while endIndex < ends.count, ends[endIndex] <= span.startMs {
                endIndex += 1
                inFlight -= 1
            }
            inFlight += 1
            peak = max(peak, inFlight)
        }
        return peak
    }
}
