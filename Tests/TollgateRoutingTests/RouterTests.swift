// SPDX-License-Identifier: Apache-2.0
// SPEC §4 "Cheapest" decided over explicit snapshots and an explicit clock.
import Testing
import TollgateCore
import TollgateRouting

struct RouterTests {
    private let s: UInt64 = 1_000_000_000

    /// 0.00019 $/s (RunPod's L4 price in the SPEC example) is 190 µ$/s.
    private func perSecond(_ microPerSecond: Int64, runMs: Int64 = 1_000, coldMs: Int64 = 0, pCold: Double = 0,
                           inFlight: Int = 0, max: Int = 16, availability: Availability = .ready,
                           tried: Bool = false) -> RoutingCandidate {
        RoutingCandidate(costModel: .perSecond(perSecond: MicroDollars(microPerSecond)), maxConcurrency: max,
                         inFlight: inFlight, expectedRunMs: runMs, coldStartMs: coldMs, pCold: pCold,
                         availability: availability, tried: tried)
    }

    private func alwaysOn(runMs: Int64 = 1_000, inFlight: Int = 0, max: Int = 4,
                          availability: Availability = .ready) -> RoutingCandidate {
        RoutingCandidate(costModel: .alwaysOn(perHour: MicroDollars(50_000)), maxConcurrency: max, inFlight: inFlight,
                         expectedRunMs: runMs, coldStartMs: 0, pCold: 0, availability: availability)
    }

    private func perRequest(_ micro: Int64, runMs: Int64 = 1_000, inFlight: Int = 0, max: Int = 16,
                            availability: Availability = .ready) -> RoutingCandidate {
        RoutingCandidate(costModel: .perRequest(MicroDollars(micro)), maxConcurrency: max, inFlight: inFlight,
                         expectedRunMs: runMs, coldStartMs: 0, pCold: 0, availability: availability)
    }

    @Test func lowestExpectedCostWinsWhateverTheConfigOrder() {
        let candidates = [perRequest(10_000), perSecond(190, runMs: 2_000), alwaysOn()]
        #expect(candidates.map(\.expectedCost) == [MicroDollars(10_000), MicroDollars(380), .zero])
        #expect(Router.pick(candidates, maxLatencyMs: nil, nowNs: 0) == .candidate(position: 2, forcedTrial: false, wake: nil))
        // Without the always-on box, per-second beats per-request.
        #expect(Router.pick(Array(candidates.prefix(2)), maxLatencyMs: nil, nowNs: 0)
            == .candidate(position: 1, forcedTrial: false, wake: nil))
    }

    @Test func aFullAlwaysOnBackendSpillsToPerSecond() {
        let candidates = [alwaysOn(inFlight: 4, max: 4), perRequest(10_000), perSecond(190)]
        #expect(Router.skipReason(candidates[0], maxLatencyMs: nil, nowNs: 0) == .full(inFlight: 4, max: 4))
        #expect(Router.pick(candidates, maxLatencyMs: nil, nowNs: 0) == .candidate(position: 2, forcedTrial: false, wake: nil))
        // One slot frees up: back to the box, whose hours are paid anyway.
        var freed = candidates
        freed[0].inFlight = 3
        #expect(Router.pick(freed, maxLatencyMs: nil, nowNs: 0) == .candidate(position: 0, forcedTrial: false, wake: nil))
    }

    @Test func theColdStartPenaltyChangesTheOrder() {
        // A: half the price, but a 60 s cold start it probably meets. B: warm.
        var a = perSecond(100, runMs: 1_000, coldMs: 60_000, pCold: 1)
        let b = perSecond(200, runMs: 1_000)
        #expect(a.expectedCost == MicroDollars(6_100))
        #expect(a.expectedLatencyMs == 61_000)
        #expect(Router.pick([a, b], maxLatencyMs: nil, nowNs: 0) == .candidate(position: 1, forcedTrial: false, wake: nil))
        a.pCold = 0.01  // 600 ms of expected cold start: 1.6 s × 100 µ$/s = 160 µ$ < 200 µ$
        #expect(a.expectedCost == MicroDollars(160))
        #expect(Router.pick([a, b], maxLatencyMs: nil, nowNs: 0) == .candidate(position: 0, forcedTrial: false, wake: nil))
    }

    @Test func theLatencyCapSkipsSlowerCandidates() {
        let cheapSlow = perSecond(50, runMs: 10_000)  // 500 µ$ against 600 µ$
        let dearFast = perSecond(300, runMs: 2_000)
        #expect(Router.pick([cheapSlow, dearFast], maxLatencyMs: nil, nowNs: 0)
            == .candidate(position: 0, forcedTrial: false, wake: nil))
        #expect(Router.pick([cheapSlow, dearFast], maxLatencyMs: 5_000, nowNs: 0)
            == .candidate(position: 1, forcedTrial: false, wake: nil))
        #expect(Router.skipReason(cheapSlow, maxLatencyMs: 5_000, nowNs: 0) == .tooSlow(expectedMs: 10_000, maxMs: 5_000))
        // Exactly at the cap is within it.
        #expect(Router.skipReason(cheapSlow, maxLatencyMs: 10_000, nowNs: 0) == nil)
        #expect(Router.pick([cheapSlow, dearFast], maxLatencyMs: 1_000, nowNs: 0) == RoutePick.none)
    }

    @Test func tiesGoToLowerLatencyThenConfigOrder() {
        // Both always-on: cost 0 each.
        let slow = alwaysOn(runMs: 3_000)
        let fast = alwaysOn(runMs: 1_000)
        #expect(Router.pick([slow, fast], maxLatencyMs: nil, nowNs: 0) == .candidate(position: 1, forcedTrial: false, wake: nil))
        #expect(Router.pick([fast, slow], maxLatencyMs: nil, nowNs: 0) == .candidate(position: 0, forcedTrial: false, wake: nil))
        #expect(Router.pick([slow, fast, fast], maxLatencyMs: nil, nowNs: 0) == .candidate(position: 1, forcedTrial: false, wake: nil))
        #expect(Router.pick([slow, slow], maxLatencyMs: nil, nowNs: 0) == .candidate(position: 0, forcedTrial: false, wake: nil))
    }

    @Test func triedCandidatesAreNeverPickedAgain() {
        let candidates = [alwaysOn(), perSecond(190, tried: true), perRequest(1_000)]
        var failedOver = candidates
        failedOver[0].tried = true
        #expect(Router.skipReason(failedOver[0], maxLatencyMs: nil, nowNs: 0) == .tried)
        #expect(Router.pick(failedOver, maxLatencyMs: nil, nowNs: 0) == .candidate(position: 2, forcedTrial: false, wake: nil))
        failedOver[2].tried = true
        #expect(Router.pick(failedOver, maxLatencyMs: nil, nowNs: 0) == RoutePick.none)
    }

    @Test func waitOnlyWhenEveryRemainingCandidateIsFull() {
        let full1 = alwaysOn(inFlight: 4, max: 4)
        let full2 = perSecond(190, inFlight: 2, max: 2)
        #expect(Router.pick([full1, full2], maxLatencyMs: nil, nowNs: 0) == .wait)
        // A full one and an unavailable one: waiting may help.
        #expect(Router.pick([full1, perSecond(190, availability: .unavailable)], maxLatencyMs: nil, nowNs: 0) == .wait)
        // A full one that is too slow anyway: waiting cannot help.
        #expect(Router.pick([alwaysOn(runMs: 9_000, inFlight: 4, max: 4)], maxLatencyMs: 5_000, nowNs: 0) == RoutePick.none)
        // A full one already tried: nothing to wait for.
        var tried = full1
        tried.tried = true
        #expect(Router.pick([tried], maxLatencyMs: nil, nowNs: 0) == RoutePick.none)
        // Nothing but unavailable and busy half-open circuits.
        #expect(Router.pick([perSecond(190, availability: .unavailable), perSecond(190, availability: .halfOpenBusy)],
                            maxLatencyMs: nil, nowNs: 0) == RoutePick.none)
        #expect(Router.pick([RoutingCandidate](), maxLatencyMs: nil, nowNs: 0) == RoutePick.none)
        // max_concurrency 0 never takes a request.
        #expect(Router.skipReason(perSecond(190, max: 0), maxLatencyMs: nil, nowNs: 0) == .full(inFlight: 0, max: 0))
    }

    @Test func skipReasonsFollowTheDocumentedOrder() {
        let open = Availability.circuitOpen(untilNs: 10 * s, lastFailureNs: 0)
        var c = perSecond(190, runMs: 9_000, inFlight: 4, max: 4, availability: open, tried: true)
        #expect(Router.skipReason(c, maxLatencyMs: 1_000, nowNs: 0) == .tried)
        c.tried = false
        #expect(Router.skipReason(c, maxLatencyMs: 1_000, nowNs: 0) == .circuitOpen(untilNs: 10 * s))
        // The open circuit's cooldown is over: it counts as ready (the half-open trial is admitted
        // by CircuitBreaker.admit), and the next reason shows.
        #expect(Router.skipReason(c, maxLatencyMs: 1_000, nowNs: 10 * s) == .full(inFlight: 4, max: 4))
        c.inFlight = 0
        #expect(Router.skipReason(c, maxLatencyMs: 1_000, nowNs: 10 * s) == .tooSlow(expectedMs: 9_000, maxMs: 1_000))
        #expect(Router.skipReason(c, maxLatencyMs: nil, nowNs: 10 * s) == nil)
        c.availability = .halfOpenBusy
        #expect(Router.skipReason(c, maxLatencyMs: nil, nowNs: 0) == .halfOpenBusy)
        c.availability = .unavailable
        #expect(Router.skipReason(c, maxLatencyMs: nil, nowNs: 0) == .unavailable)
    }

    @Test func everyCircuitOpenForcesATrialOnTheLeastRecentlyFailed() {
        let candidates = [
            perSecond(100, availability: .circuitOpen(untilNs: 30 * s, lastFailureNs: 5 * s)),
            perSecond(300, availability: .circuitOpen(untilNs: 30 * s, lastFailureNs: 3 * s)),
            perSecond(100, availability: .circuitOpen(untilNs: 30 * s, lastFailureNs: 7 * s)),
        ]
        #expect(Router.pick(candidates, maxLatencyMs: nil, nowNs: 20 * s) == .candidate(position: 1, forcedTrial: true, wake: nil))
        // Ties by last failure: config order.
        var tie = candidates
        tie[2].availability = .circuitOpen(untilNs: 30 * s, lastFailureNs: 3 * s)
        #expect(Router.pick(tie, maxLatencyMs: nil, nowNs: 20 * s) == .candidate(position: 1, forcedTrial: true, wake: nil))
        // The one tried already is not forced again.
        var failedOver = candidates
        failedOver[1].tried = true
        #expect(Router.pick(failedOver, maxLatencyMs: nil, nowNs: 20 * s) == .candidate(position: 0, forcedTrial: true, wake: nil))
        // One expired circuit: an ordinary pick, no forcing.
        #expect(Router.pick(candidates, maxLatencyMs: nil, nowNs: 30 * s) == .candidate(position: 0, forcedTrial: false, wake: nil))
        // A pickable candidate beats any forced trial.
        #expect(Router.pick(candidates + [perRequest(1_000_000)], maxLatencyMs: nil, nowNs: 20 * s)
            == .candidate(position: 3, forcedTrial: false, wake: nil))
        // A full candidate means wait, not force.
        #expect(Router.pick(candidates + [alwaysOn(inFlight: 4, max: 4)], maxLatencyMs: nil, nowNs: 20 * s) == .wait)
        // Open and unavailable: still force the open one rather than refuse.
        #expect(Router.pick([perSecond(1, availability: .unavailable), candidates[2]], maxLatencyMs: nil, nowNs: 20 * s)
            == .candidate(position: 1, forcedTrial: true, wake: nil))
        // A forced trial must still fit the latency cap.
        #expect(Router.pick(candidates, maxLatencyMs: 500, nowNs: 20 * s) == RoutePick.none)
    }

    @Test func aPausedBackendIsPickedOrWokenByCostAndLatency() {
        // A paused Space on a per-hour price with a 60 s wake, against a per-request platform.
        let paused = alwaysOn(runMs: 2_000, availability: .paused(wakeMs: 60_000))
        let platform = perRequest(5_000, runMs: 3_000)
        #expect(paused.expectedLatencyMs == 62_000)
        #expect(paused.expectedCost == .zero)
        // No latency cap: cheapest wins, the request waits for the wake.
        #expect(Router.pick([paused, platform], maxLatencyMs: nil, nowNs: 0) == .candidate(position: 0, forcedTrial: false, wake: nil))
        // A cap the wake breaks: the request goes elsewhere while the paused one wakes.
        #expect(Router.pick([platform, paused], maxLatencyMs: 10_000, nowNs: 0) == .candidate(position: 0, forcedTrial: false, wake: 1))
        // A paused one that is not cheaper is not woken.
        let dearPaused = perRequest(9_000, availability: .paused(wakeMs: 60_000))
        #expect(Router.pick([platform, dearPaused], maxLatencyMs: 10_000, nowNs: 0) == .candidate(position: 0, forcedTrial: false, wake: nil))
        // Equal cost is not strictly cheaper.
        let samePaused = perRequest(5_000, availability: .paused(wakeMs: 60_000))
        #expect(Router.pick([platform, samePaused], maxLatencyMs: 10_000, nowNs: 0) == .candidate(position: 0, forcedTrial: false, wake: nil))
        // Already tried: not a wake hint.
        var triedPaused = paused
        triedPaused.tried = true
        #expect(Router.pick([platform, triedPaused], maxLatencyMs: 10_000, nowNs: 0) == .candidate(position: 0, forcedTrial: false, wake: nil))
        // With a forced trial too.
        let open = perSecond(100, availability: .circuitOpen(untilNs: 30 * s, lastFailureNs: 1))
        #expect(Router.pick([open, paused], maxLatencyMs: 10_000, nowNs: 0) == .candidate(position: 0, forcedTrial: true, wake: 1))
    }

    @Test func theBufferAndTheArrayDecideAlike() {
        let candidates = (0..<20).map { i in perSecond(Int64(200 - i), runMs: Int64(1_000 + i), inFlight: i % 3, max: 2) }
        let fromArray = Router.pick(candidates, maxLatencyMs: nil, nowNs: 0)
        let fromBuffer = candidates.withUnsafeBufferPointer { Router.pick($0, maxLatencyMs: nil, nowNs: 0) }
        #expect(fromArray == fromBuffer)
        // The cheapest with a free slot: i = 19 has 19 % 3 = 1 < 2 in flight.
        #expect(fromArray == .candidate(position: 19, forcedTrial: false, wake: nil))
    }
}
