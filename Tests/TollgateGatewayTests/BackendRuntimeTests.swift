// SPDX-License-Identifier: Apache-2.0
// One backend's shared state with the test's own clock: a stated cool-down keeps it out until
// its time and no longer, the longer of two waits wins, the 503's reason names the time left;
// slots are counted across callers up to max_concurrency; the circuit opens on consecutive
// failures and admits one half-open trial; a board keeps all of it across a reload.
import Testing
import TollgateCore
import TollgateRouting
import TollgateBackends
@testable import TollgateGateway

struct BackendRuntimeTests {
    private let second: UInt64 = 1_000_000_000

    private func runtime(max: Int = 16, failures: Int = 3) -> BackendRuntime {
        BackendRuntime(name: "b", routing: BackendRouting(maxConcurrency: max, circuitFailures: failures,
                                                          circuitCooldownNs: 10 * second, circuitMaxCooldownNs: 40 * second), nowNs: 0)
    }

    private func availability(_ r: BackendRuntime, now: UInt64) -> Availability {
        r.candidate(costModel: .free, expectedRunMs: 1_000, coldStartMs: 0, nowNs: now).candidate.availability
    }

    @Test func aCooledDownBackendIsSkippedUntilItsTimeAndNotAfter() {
        let r = runtime()
        let start: UInt64 = 5 * second
        #expect(r.cooldown(nowNs: start) == nil)
        r.coolDown(untilNs: start + 10 * second, reason: "ZeroGPU quota exceeded", cause: .quota)
        #expect(r.cooldown(nowNs: start)?.reason == "ZeroGPU quota exceeded")
        #expect(availability(r, now: start) == .unavailable)
        #expect(!r.isEligible(nowNs: start))
        #expect(r.cooldown(nowNs: start + 10 * second - 1) != nil)
        #expect(r.cooldown(nowNs: start + 10 * second) == nil)
        #expect(availability(r, now: start + 10 * second) == .ready)
        #expect(r.isEligible(nowNs: start + 10 * second))
    }

    @Test func theLongerWaitWins() {
        let r = runtime()
        r.coolDown(untilNs: 100 * second, reason: "daily quota", cause: .quota)
        r.coolDown(untilNs: 50 * second, reason: "per-minute limit", cause: .quota)
        #expect(r.cooldown(nowNs: 60 * second)?.reason == "daily quota")
        r.coolDown(untilNs: 200 * second, reason: "monthly cap", cause: .quota)
        #expect(r.cooldown(nowNs: 150 * second)?.reason == "monthly cap")
    }

    @Test func theReasonSaysHowLongIsLeftRoundedUp() {
        let c = BackendRuntime.Cooldown(untilNs: 10 * second + 1, reason: "quota exceeded, retry in 0:00:10", cause: .quota)
        #expect(BackendRuntime.describe(c, nowNs: 1 * second) == "quota exceeded, retry in 0:00:10 (cooling down for 10s)")
    }

    /// `describe` is arithmetic on times an adapter derived from a platform's text: no `until`
    /// (however far) and no clock reading (however late) may trap the process.
    @Test func theReasonNeverTrapsOnAnyTime() {
        let far = BackendRuntime.Cooldown(untilNs: .max, reason: "x", cause: .quota)
        #expect(BackendRuntime.describe(far, nowNs: 0).hasSuffix("(cooling down for 18446744074s)"))
        let past = BackendRuntime.Cooldown(untilNs: 5 * second, reason: "x", cause: .quota)
        #expect(BackendRuntime.describe(past, nowNs: 6 * second) == "x (cooling down for 0s)")
    }

    @Test func slotsAreCountedUpToMaxConcurrency() {
        let r = runtime(max: 2)
        #expect(r.acquire(nowNs: second, forced: false))
        #expect(r.acquire(nowNs: second, forced: false))
        #expect(!r.acquire(nowNs: second, forced: false))
        #expect(r.inFlight == 2)
        r.finish(nowNs: 2 * second, verdict: .success, cold: nil)
        #expect(r.inFlight == 1)
        #expect(r.acquire(nowNs: 2 * second, forced: false))
    }

    @Test func consecutiveFailuresOpenTheCircuitThenOneHalfOpenTrialDecides() {
        let r = runtime(failures: 2)
        for _ in 0..<2 {
            #expect(r.acquire(nowNs: second, forced: false))
            r.finish(nowNs: second, verdict: .failure("HTTP 500"), cold: nil)
        }
        #expect(availability(r, now: 2 * second) == .circuitOpen(untilNs: 11 * second, lastFailureNs: second))
        #expect(!r.isEligible(nowNs: 2 * second))
        #expect(r.circuitReason(untilNs: 11 * second, nowNs: 2 * second) == "circuit open for 9s (last failure: HTTP 500)")
        #expect(!r.acquire(nowNs: 2 * second, forced: false))
        // The cooldown is over: one trial is admitted, a second request is not.
        #expect(r.acquire(nowNs: 11 * second, forced: false))
        #expect(availability(r, now: 11 * second) == .halfOpenBusy)
        #expect(!r.acquire(nowNs: 11 * second, forced: false))
        r.finish(nowNs: 12 * second, verdict: .success, cold: nil)
        #expect(availability(r, now: 12 * second) == .ready)
    }

    @Test func aForcedTrialGoesThroughAnOpenCircuit() {
        let r = runtime(failures: 1)
        #expect(r.acquire(nowNs: second, forced: false))
        r.finish(nowNs: second, verdict: .failure("down"), cold: nil)
        #expect(!r.acquire(nowNs: 2 * second, forced: false))
        #expect(r.acquire(nowNs: 2 * second, forced: true))
    }

    /// A forced request that finds the backend full gives back no trial it did not take: the
    /// trial in flight stays the only one.
    @Test func aForcedRequestThatFindsItFullLeavesAnotherRequestsTrialAlone() {
        let r = runtime(max: 1, failures: 1)
        #expect(r.acquire(nowNs: second, forced: false))
        r.finish(nowNs: second, verdict: .failure("down"), cold: nil)
        #expect(r.acquire(nowNs: 11 * second, forced: false))  // the half-open trial, in flight
        #expect(!r.acquire(nowNs: 11 * second, forced: true))  // full
        #expect(availability(r, now: 11 * second) == .halfOpenBusy)
        #expect(!r.acquire(nowNs: 11 * second, forced: false))
    }

    @Test func aTrialTheClientAbandonedDecidesNothing() {
        let r = runtime(failures: 1)
        #expect(r.acquire(nowNs: second, forced: false))
        r.finish(nowNs: second, verdict: .failure("down"), cold: nil)
        #expect(r.acquire(nowNs: 11 * second, forced: false))
        r.finish(nowNs: 11 * second, verdict: .neutral, cold: nil)
        // Not open for longer: the next request is the trial.
        #expect(r.acquire(nowNs: 11 * second, forced: false))
    }

    @Test func theBoardKeepsStateAcrossAReload() {
        let board = BackendBoard()
        let kind = SimulatedKind(options: SimulatedBackendOptions(name: "b"))
        let first = board.bind(backends: [BackendPlan(name: "b", kind: kind, upstreamModel: nil, firstByteTimeoutNs: second,
                                                      costModel: .free)], models: [], nowNs: 0)
        first.runtimes[0].coolDown(untilNs: 100 * second, reason: "quota", cause: .quota)
        #expect(first.runtimes[0].acquire(nowNs: second, forced: false))
        let second = board.bind(backends: [BackendPlan(name: "other", kind: kind, upstreamModel: nil, firstByteTimeoutNs: 1,
                                                       costModel: .free),
                                           BackendPlan(name: "b", kind: kind, upstreamModel: nil, firstByteTimeoutNs: 1,
                                                       costModel: .free)], models: [], nowNs: 0)
        #expect(second.runtimes[1] === first.runtimes[0])
        #expect(second.runtimes[1].inFlight == 1)
        #expect(second.runtimes[1].cooldown(nowNs: 50 * self.second)?.reason == "quota")
        #expect(second.runtimes[0].inFlight == 0)
    }

    /// Loops read their own cached clock: a request on one loop may have ended "later" than
    /// another loop's now. The idle gap is then 0 — not a wrapped subtraction read as half a
    /// million years, which made the backend look cold now and taught it a warm gap so long
    /// that it never looked cold again.
    @Test func anEndStampedByALoopWhoseClockIsAheadIsNoIdleGap() {
        let r = runtime()
        let ms: UInt64 = 1_000_000
        #expect(r.acquire(nowNs: 10 * second, forced: false))
        r.finish(nowNs: 12 * second, verdict: .success, cold: nil)
        let behind = 12 * second - 3 * ms
        #expect(r.candidate(costModel: .free, expectedRunMs: 1_000, coldStartMs: 5_000, nowNs: behind).candidate.pCold == 0)
        var gap: Int64?
        #expect(r.acquire(nowNs: behind, forced: false, idleGapMs: &gap))
        #expect(gap == 0)
        r.finish(nowNs: behind + ms, verdict: .success, cold: gap.map { ($0, false) })
        #expect(r.snapshot().cold.coldAfterMs == BackendRuntime.coldAfterPriorMs)
    }
}
