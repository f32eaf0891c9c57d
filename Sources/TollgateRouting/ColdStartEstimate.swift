// SPDX-License-Identifier: Apache-2.0
// P(cold) for SPEC §4's expected cost: scale-to-zero platforms drop a backend's workers after
// some idle time the gateway is not told (RunPod's idle timeout, a Space's sleep time), so it
// is learnt from requests: the longest gap after which a request still found the backend warm,
// and the shortest gap after which one found it cold. Two numbers, no history.
//
// Bounds that later evidence contradicts are dropped (a warm request after a gap at least the
// "shortest cold" gap forgets that cold bound, and the other way round), so one cold start from
// another cause (a worker recycled, a scale-out) does not pin P(cold) at 1 for good.

public struct ColdStartEstimate: Sendable, Equatable {
    public let coldAfterPriorMs: Int64
    public private(set) var longestWarmGapMs: Int64?
    public private(set) var shortestColdGapMs: Int64?

    /// `coldAfterPriorMs`: what is assumed before any observation.
    public init(coldAfterPriorMs: Int64) {
        self.coldAfterPriorMs = max(coldAfterPriorMs, 0)
    }

    /// A request that started `gapMs` after the previous one ended (or started) was cold or
    /// warm.
    public mutating func observe(gapMs: Int64, cold: Bool) {
        let gap = max(gapMs, 0)
        if cold {
            shortestColdGapMs = min(shortestColdGapMs ?? gap, gap)
            if let warm = longestWarmGapMs, warm >= gap { longestWarmGapMs = nil }
        } else {
            longestWarmGapMs = max(longestWarmGapMs ?? gap, gap)
            if let coldGap = shortestColdGapMs, coldGap <= gap { shortestColdGapMs = nil }
        }
    }

    /// The current estimate of the idle time after which the backend is cold: the shortest
    /// cold gap seen, else the prior or the longest warm gap, whichever is longer.
    public var coldAfterMs: Int64 {
        if let coldGap = shortestColdGapMs { return coldGap }
        return max(coldAfterPriorMs, longestWarmGapMs ?? 0)
    }

    /// 0 while the gap is at most the longest warm gap (and below the cold-after), 1 at or
    /// beyond the cold-after, linear in between; `gapMs == nil` (never used since start) → 1.
    /// A probe's word, when given, wins.
    public func probability(gapMs: Int64?, probe: ProbeWarmth?) -> Double {
        switch probe {
        case .warm?: return 0
        case .cold?: return 1
        case nil: break
        }
        guard let gapMs else { return 1 }
        let gap = max(gapMs, 0)
        let coldAfter = coldAfterMs
        if gap >= coldAfter { return 1 }
        let warm = min(longestWarmGapMs ?? 0, coldAfter)
        if gap <= warm { return 0 }
        // warm < gap < coldAfter, so the span is positive; Double keeps the ratio exact enough
        // without an Int64 product that could overflow.
        return Double(gap - warm) / Double(coldAfter - warm)
    }
}
