// SPDX-License-Identifier: Apache-2.0
import TollgateCore
// SPEC §4 "Cheapest" as one pass over a snapshot of the candidates: the lowest expected marginal
// cost among those that can take the request now, ties by expected latency, then config order.
// No allocation and no clock read (the caller passes `nowNs`), so the decision costs a few ns
// per candidate (Benchmarks/RoutingBench) and every branch is tested with explicit values.

public enum Router {
    /// The decision, O(n), no allocation: among candidates with `skipReason == nil` the lowest
    /// expectedCost, ties by expectedLatencyMs, then position (config order). `maxLatencyMs`
    /// (the model's `max_latency`, nil = none) skips slower candidates. If none is pickable:
    /// `.wait` when some untried candidate is only full (and not too slow); else, when some
    /// untried candidate has an open circuit (and would otherwise fit), the one with the oldest
    /// lastFailureNs as `forcedTrial` (issue 12 item 3); else `.none`.
    public static func pick(_ candidates: UnsafeBufferPointer<RoutingCandidate>, maxLatencyMs: Int64?,
                            nowNs: UInt64) -> RoutePick {
        var best = -1
        var bestCost = MicroDollars.zero
        var bestLatency: Int64 = 0
        var anyOnlyFull = false
        var trial = -1
        var trialLastFailure: UInt64 = 0
        var trialCost = MicroDollars.zero
        var cheapestPaused = -1
        var cheapestPausedCost = MicroDollars.zero

        for (position, candidate) in candidates.enumerated() {
            if candidate.tried { continue }
            // What a per-second platform would bill: the base of both the latency and the cost.
            let billed = candidate.expectedBilledMs
            let latency = candidate.expectedLatencyMs(billedMs: billed)
            if case .paused = candidate.availability {
                let cost = candidate.expectedCost(billedMs: billed)
                if cheapestPaused < 0 || cost < cheapestPausedCost {
                    cheapestPaused = position
                    cheapestPausedCost = cost
                }
            }
            switch reason(candidate, latencyMs: latency, maxLatencyMs: maxLatencyMs, nowNs: nowNs) {
            case nil:
                let cost = candidate.expectedCost(billedMs: billed)
                if best < 0 || cost < bestCost || (cost == bestCost && latency < bestLatency) {
                    best = position
                    bestCost = cost
                    bestLatency = latency
                }
            case .full?:
                if !isTooSlow(latency, maxLatencyMs) { anyOnlyFull = true }
            case .circuitOpen?:
                // The fallback trial must still fit: a free slot, within the latency cap.
                guard case .circuitOpen(_, let lastFailure) = candidate.availability,
                      !isFull(candidate), !isTooSlow(latency, maxLatencyMs) else { break }
                if trial < 0 || lastFailure < trialLastFailure {
                    trial = position
                    trialLastFailure = lastFailure
                    trialCost = candidate.expectedCost(billedMs: billed)
                }
            default:
                break
            }
        }

        if best >= 0 {
            return .candidate(position: best, forcedTrial: false, wake: wakeHint(cheapestPaused, cheapestPausedCost, than: best, costing: bestCost))
        }
        if anyOnlyFull { return .wait }
        if trial >= 0 {
            return .candidate(position: trial, forcedTrial: true, wake: wakeHint(cheapestPaused, cheapestPausedCost, than: trial, costing: trialCost))
        }
        return .none
    }

    /// The same decision over an array.
    public static func pick(_ candidates: [RoutingCandidate], maxLatencyMs: Int64?, nowNs: UInt64) -> RoutePick {
        candidates.withUnsafeBufferPointer { pick($0, maxLatencyMs: maxLatencyMs, nowNs: nowNs) }
    }

    /// Why a candidate is not pickable now (nil: pickable). Order of checks: tried,
    /// availability (an open circuit only while nowNs < untilNs: an expired one counts as ready,
    /// the caller admits the half-open trial through CircuitBreaker.admit), full
    /// (inFlight >= maxConcurrency), too slow.
    public static func skipReason(_ candidate: RoutingCandidate, maxLatencyMs: Int64?, nowNs: UInt64) -> SkipReason? {
        if candidate.tried { return .tried }
        return reason(candidate, latencyMs: candidate.expectedLatencyMs, maxLatencyMs: maxLatencyMs, nowNs: nowNs)
    }

    /// skipReason's checks after `tried`, with the latency computed once by the caller.
    @inline(__always)
    private static func reason(_ candidate: RoutingCandidate, latencyMs: Int64, maxLatencyMs: Int64?,
                               nowNs: UInt64) -> SkipReason? {
        switch candidate.availability {
        case .ready, .paused:
            break
        case .circuitOpen(let until, _):
            if nowNs < until { return .circuitOpen(untilNs: until) }
        case .halfOpenBusy:
            return .halfOpenBusy
        case .unavailable:
            return .unavailable
        }
        if isFull(candidate) { return .full(inFlight: candidate.inFlight, max: candidate.maxConcurrency) }
        if let cap = maxLatencyMs, latencyMs > cap { return .tooSlow(expectedMs: latencyMs, maxMs: cap) }
        return nil
    }

    @inline(__always)
    private static func isFull(_ candidate: RoutingCandidate) -> Bool {
        candidate.inFlight >= candidate.maxConcurrency
    }

    @inline(__always)
    private static func isTooSlow(_ latencyMs: Int64, _ maxLatencyMs: Int64?) -> Bool {
        if let cap = maxLatencyMs { return latencyMs > cap }
        return false
    }

    /// The cheapest paused candidate when it is strictly cheaper than the pick (and not the
    /// pick itself): worth waking for the requests after this one.
    @inline(__always)
    private static func wakeHint(_ paused: Int, _ pausedCost: MicroDollars, than pick: Int, costing pickCost: MicroDollars) -> Int? {
        paused >= 0 && paused != pick && pausedCost < pickCost ? paused : nil
    }
}
