// SPDX-License-Identifier: Apache-2.0
// One request's way through its model's candidates, on the test's own clock (explicit nowNs,
// no sleeps): the cheapest first, ties by expected latency then config order; a tried
// candidate never again; `attempts` and the deadline bound the tries; every candidate full →
// wait; a paused Space that is the best → wake and wait; every circuit open → the least
// recently failed one as a forced trial; the 503's reasons in words; and the decision log.
import Testing
import TollgateBackends
import TollgateCore
import TollgateRouting
@testable import TollgateGateway

struct RequestRouteTests {
    static let second: UInt64 = 1_000_000_000
    private var second: UInt64 { Self.second }

    /// A backend for the fixture: name, price, expected run, routing settings.
    struct Spec {
        var name: String
        var cost: CostModel = .free
        var runMs: Int64 = 1_000
        var routing = BackendRouting(maxConcurrency: 4, circuitFailures: 1, circuitCooldownNs: 10 * RequestRouteTests.second)
    }

    /// The plan's pieces bound to a fresh board, one model over every backend in order.
    struct Fixture {
        let backends: [BackendPlan]
        let model: ModelPlan
        let tables: RoutingTables

        init(_ specs: [Spec], attempts: Int = 3, maxLatencyMs: Int64? = nil) {
            let kind = SimulatedKind(options: SimulatedBackendOptions(name: "sim"))
            backends = specs.map {
                BackendPlan(name: $0.name, kind: kind, upstreamModel: nil, firstByteTimeoutNs: RequestRouteTests.second,
                            costModel: $0.cost, expectedRunMs: $0.runMs, routing: $0.routing)
            }
            model = ModelPlan(name: "m", task: .chat, backends: Array(specs.indices), attempts: attempts,
                              maxLatencyMs: maxLatencyMs)
            tables = BackendBoard().bind(backends: backends, models: [model], nowNs: 0)
        }

        func route(nowNs: UInt64 = 0) -> RequestRoute {
            RequestRoute(model: model, routing: tables.models[0], tables: tables, backends: backends, nowNs: nowNs)
        }

        func runtime(_ index: Int) -> BackendRuntime { tables.runtimes[index] }

        /// One failed request on backend `index` at `nowNs` (its circuit counts it).
        func fail(_ index: Int, at nowNs: UInt64, why: String = "HTTP 500") {
            #expect(runtime(index).acquire(nowNs: nowNs, forced: true))
            runtime(index).finish(nowNs: nowNs, verdict: .failure(why), cold: nil)
        }

        var lastDecision: DecisionLog.Entry? { tables.models[0].decisions.entries().last }
    }

    private func next(_ route: inout RequestRoute, _ nowNs: UInt64, wallMs: Int64 = 0) -> RequestRoute.Next {
        var scratch = RouteScratch()
        return route.next(nowNs: nowNs, wallMs: wallMs, scratch: &scratch)
    }

    // MARK: - Order

    @Test func theCheapestGoesFirstThenTheNextCheapestAndATriedOneNeverAgain() {
        // 1 s at $0.002/s = $0.002; a $0.001 request; 1 s at $0.0005/s = $0.0005.
        let f = Fixture([Spec(name: "dear", cost: .perSecond(perSecond: MicroDollars(2_000))),
                         Spec(name: "flat", cost: .perRequest(MicroDollars(1_000))),
                         Spec(name: "cheap", cost: .perSecond(perSecond: MicroDollars(500)))], attempts: 3)
        var route = f.route()
        #expect(next(&route, second) == .backend(index: 2, wake: nil))
        #expect(next(&route, second) == .backend(index: 1, wake: nil))
        #expect(next(&route, second) == .backend(index: 0, wake: nil))
        #expect(route.attemptsMade == 3)
        // Every candidate tried: none is picked again (and none has a reason left to give).
        #expect(next(&route, second) == .refuse([]))
        #expect(f.runtime(0).inFlight == 1 && f.runtime(1).inFlight == 1 && f.runtime(2).inFlight == 1)
    }

    @Test func alwaysOnCostsNothingMoreUntilItIsFullThenThePerSecondOneTakesTheRest() {
        var routing = BackendRouting(maxConcurrency: 1)
        routing.circuitFailures = 3
        let f = Fixture([Spec(name: "pod", cost: .perSecond(perSecond: MicroDollars(100))),
                         Spec(name: "box", cost: .alwaysOn(perHour: MicroDollars(1_000_000)), routing: routing)])
        var first = f.route()
        #expect(next(&first, second) == .backend(index: 1, wake: nil))
        var spill = f.route()
        #expect(next(&spill, second) == .backend(index: 0, wake: nil))
    }

    @Test func equalCostsGoToTheFasterThenToTheFirstInConfigOrder() {
        // Free and equal: the shorter expected run wins.
        let byRun = Fixture([Spec(name: "slow", runMs: 2_000), Spec(name: "fast", runMs: 1_000)])
        var r1 = byRun.route()
        #expect(next(&r1, second) == .backend(index: 1, wake: nil))

        // Same run, but one has a cold start ahead (never used since start: P(cold) = 1).
        var cold = BackendRouting(maxConcurrency: 4)
        cold.coldStartMs = 30_000
        let byCold = Fixture([Spec(name: "coldish", routing: cold), Spec(name: "warmish")])
        var r2 = byCold.route()
        #expect(next(&r2, second) == .backend(index: 1, wake: nil))

        // Equal in every way: config order.
        let tie = Fixture([Spec(name: "a"), Spec(name: "b"), Spec(name: "c")])
        var r3 = tie.route()
        #expect(next(&r3, second) == .backend(index: 0, wake: nil))
        #expect(next(&r3, second) == .backend(index: 1, wake: nil))
    }

    @Test func aCandidateSlowerThanMaxLatencyIsSkippedWithItsReason() {
        let f = Fixture([Spec(name: "slow", runMs: 2_500), Spec(name: "fast", cost: .perRequest(MicroDollars(5)), runMs: 500)],
                        maxLatencyMs: 1_000)
        var route = f.route()
        #expect(next(&route, second) == .backend(index: 1, wake: nil))
        let slow = f.lastDecision?.candidates.first { $0.backend == "slow" }
        #expect(slow?.skip == "expected 2.5s exceeds max_latency 1s")
        // Only the slow one left: refused with that reason.
        #expect(next(&route, second) == .refuse(["slow: expected 2.5s exceeds max_latency 1s"]))
    }

    // MARK: - Bounds

    @Test func attemptsBoundTheTries() {
        let f = Fixture([Spec(name: "a"), Spec(name: "b"), Spec(name: "c")], attempts: 2)
        var route = f.route()
        #expect(route.hasAttemptsLeft(nowNs: 0))
        _ = next(&route, 0)
        #expect(route.hasAttemptsLeft(nowNs: 0))
        _ = next(&route, 0)
        #expect(route.attemptsMade == 2)
        #expect(!route.hasAttemptsLeft(nowNs: 0))
    }

    @Test func attemptsZeroStillAllowsOneTry() {
        let f = Fixture([Spec(name: "a"), Spec(name: "b")], attempts: 0)
        var route = f.route()
        #expect(route.hasAttemptsLeft(nowNs: 0))
        _ = next(&route, 0)
        #expect(!route.hasAttemptsLeft(nowNs: 0))
    }

    @Test func theDeadlineIsDispatchPlusTheLongestTimeout() {
        var short = BackendRouting()
        short.timeoutNs = 5 * second
        var long = BackendRouting()
        long.timeoutNs = 30 * second
        let f = Fixture([Spec(name: "a", routing: short), Spec(name: "b", routing: long), Spec(name: "c", routing: short)])
        let start = 100 * second
        var route = f.route(nowNs: start)
        #expect(route.deadlineNs == start + 30 * second)
        _ = next(&route, start)
        #expect(route.hasAttemptsLeft(nowNs: start + 30 * second - 1))
        #expect(!route.hasAttemptsLeft(nowNs: start + 30 * second))
    }

    @Test func aDeadlinePastTheClockSaturates() {
        var endless = BackendRouting()
        endless.timeoutNs = .max
        let f = Fixture([Spec(name: "a", routing: endless)])
        let route = f.route(nowNs: .max - 5)
        #expect(route.deadlineNs == .max)
    }

    @Test func anExcludedBackendIsLeftOutWithoutAnAttempt() {
        let f = Fixture([Spec(name: "a"), Spec(name: "b")])
        var route = f.route()
        route.exclude(backend: 0)
        #expect(next(&route, second) == .backend(index: 1, wake: nil))
        #expect(route.attemptsMade == 1)
        #expect(f.runtime(0).inFlight == 0)
    }

    // MARK: - Full, paused, circuits

    @Test func everyCandidateFullMeansWaitAndAFreedSlotMeansGo() {
        let one = BackendRouting(maxConcurrency: 1)
        let f = Fixture([Spec(name: "a", routing: one), Spec(name: "b", routing: one)])
        #expect(f.runtime(0).acquire(nowNs: 0, forced: false))
        #expect(f.runtime(1).acquire(nowNs: 0, forced: false))
        var route = f.route()
        #expect(next(&route, second) == .wait)
        #expect(route.attemptsMade == 0)
        let entry = f.lastDecision
        #expect(entry?.candidates.map(\.skip) == ["full (1/1 in flight)", "full (1/1 in flight)"])
        #expect(entry?.candidates.allSatisfy { !$0.picked } == true)
        f.runtime(1).finish(nowNs: 2 * second, verdict: .success, cold: nil)
        #expect(next(&route, 2 * second) == .backend(index: 1, wake: nil))
    }

    @Test func fullWinsOverAnOpenCircuitAndACooledDownOne() {
        let one = BackendRouting(maxConcurrency: 1)
        let f = Fixture([Spec(name: "full", routing: one), Spec(name: "broken"), Spec(name: "cooling")])
        #expect(f.runtime(0).acquire(nowNs: 0, forced: false))
        f.fail(1, at: 0)
        f.runtime(2).coolDown(untilNs: 60 * second, reason: "rate limited", cause: .quota)
        var route = f.route()
        #expect(next(&route, second) == .wait)
    }

    private func spaceRouting(coldStartMs: Int64 = 20_000) -> BackendRouting {
        var routing = BackendRouting(maxConcurrency: 2, coldStartMs: coldStartMs)
        routing.idle = .init(afterNs: 60 * second, call: .space("org/space"))
        return routing
    }

    /// Moves backend `index`'s idle lifecycle to paused, the way the supervisor does.
    private func pause(_ f: Fixture, _ index: Int, at nowNs: UInt64) {
        #expect(f.runtime(index).idleTick(nowNs: nowNs) == .pause)
        f.runtime(index).pauseFinished(ok: true, nowNs: nowNs)
    }

    @Test func aPausedSpaceThatIsTheBestIsWokenAndWaitedFor() {
        // Its wake (5 s) fits the model's queue_timeout (10 s): the request waits for it.
        let f = Fixture([Spec(name: "space", routing: spaceRouting(coldStartMs: 5_000)),
                         Spec(name: "pod", cost: .perSecond(perSecond: MicroDollars(1_000)))])
        pause(f, 0, at: 61 * second)
        var route = f.route(nowNs: 62 * second)
        #expect(next(&route, 62 * second) == .wakeAndWait(index: 0))
        // No slot was taken and no attempt counted: the request waits for the wake.
        #expect(route.attemptsMade == 0 && f.runtime(0).inFlight == 0)
        #expect(f.lastDecision?.candidates.first?.picked == true)
        // The wake is its cold start, counted once.
        #expect(f.lastDecision?.candidates.first?.expectedLatencyMs == 6_000)
    }

    /// Issue 12 item 5: "goes elsewhere while it wakes, or waits for it" — a wake longer than
    /// the wait a request may make (queue_timeout) is started, and the request goes elsewhere.
    @Test func aPausedSpaceWhoseWakeOutlastsTheWaitIsWokenWhileAnotherServes() {
        let f = Fixture([Spec(name: "space", routing: spaceRouting(coldStartMs: 20_000)),
                         Spec(name: "pod", cost: .perSecond(perSecond: MicroDollars(1_000)))])
        pause(f, 0, at: 61 * second)
        var route = f.route(nowNs: 62 * second)
        #expect(next(&route, 62 * second) == .backend(index: 1, wake: 0))
        #expect(f.runtime(1).inFlight == 1)
        // Alone, it is waited for all the same (nothing else can serve).
        let alone = Fixture([Spec(name: "space", routing: spaceRouting(coldStartMs: 20_000))])
        pause(alone, 0, at: 61 * second)
        var lone = alone.route(nowNs: 62 * second)
        #expect(next(&lone, 62 * second) == .wakeAndWait(index: 0))
    }

    @Test func aPausedSpaceTooSlowForTheModelIsWokenForLaterWhileThisOneGoesElsewhere() {
        let f = Fixture([Spec(name: "space", routing: spaceRouting(coldStartMs: 60_000)),
                         Spec(name: "pod", cost: .perSecond(perSecond: MicroDollars(1_000)))], maxLatencyMs: 10_000)
        pause(f, 0, at: 61 * second)
        var route = f.route(nowNs: 62 * second)
        #expect(next(&route, 62 * second) == .backend(index: 1, wake: 0))
    }

    /// A Space whose pause call is still out (`pausing`) is as good as paused: a request with
    /// a free alternative goes there (and the Space is woken once paused); alone, the request
    /// waits, and the pause's end asks for the wake (never a wait nobody ends).
    @Test func aSpaceBeingPausedDoesNotHoldUpAFreeAlternative() {
        let f = Fixture([Spec(name: "space", routing: spaceRouting()),
                         Spec(name: "pod", cost: .perSecond(perSecond: MicroDollars(1_000)))])
        #expect(f.runtime(0).idleTick(nowNs: 61 * second) == .pause)  // the pause call is out
        var route = f.route(nowNs: 62 * second)
        #expect(next(&route, 62 * second) == .backend(index: 1, wake: 0))
        let alone = Fixture([Spec(name: "space", routing: spaceRouting())])
        #expect(alone.runtime(0).idleTick(nowNs: 61 * second) == .pause)
        var lone = alone.route(nowNs: 62 * second)
        #expect(next(&lone, 62 * second) == .wakeAndWait(index: 0))
        #expect(!alone.runtime(0).wakeNeeded(nowNs: 62 * second))  // noted: no call while pausing
        #expect(alone.runtime(0).pauseFinished(ok: true, nowNs: 63 * second))  // wake it now
    }

    @Test func everyCircuitOpenGivesTheLeastRecentlyFailedAForcedTrial() {
        let f = Fixture([Spec(name: "a"), Spec(name: "b"), Spec(name: "c")])
        f.fail(0, at: 3 * second)
        f.fail(1, at: 1 * second)
        f.fail(2, at: 2 * second)
        var route = f.route(nowNs: 4 * second)
        #expect(next(&route, 4 * second) == .backend(index: 1, wake: nil))
        #expect(f.runtime(1).inFlight == 1)
        // The trial's log entry marks it picked; the others say why not.
        let entry = f.lastDecision
        #expect(entry?.candidates.map(\.picked) == [false, true, false])
        #expect(entry?.candidates[0].skip == "circuit open for 9s (last failure: HTTP 500)")
        #expect(entry?.candidates[1].skip == nil)
        // Its failure does not make the next request try it again: the next oldest goes.
        f.runtime(1).finish(nowNs: 5 * second, verdict: .failure("HTTP 502"), cold: nil)
        var later = f.route(nowNs: 5 * second)
        #expect(next(&later, 5 * second) == .backend(index: 2, wake: nil))
    }

    @Test func anOpenCircuitWithAReadyAlternativeIsNotForced() {
        let f = Fixture([Spec(name: "a"), Spec(name: "b", cost: .perRequest(MicroDollars(10)))])
        f.fail(0, at: 0)
        var route = f.route()
        #expect(next(&route, second) == .backend(index: 1, wake: nil))
        // The cooldown over: the cheaper one gets its half-open trial, a second request does not.
        var trial = f.route(nowNs: 10 * second)
        #expect(next(&trial, 10 * second) == .backend(index: 0, wake: nil))
        var other = f.route(nowNs: 10 * second)
        #expect(next(&other, 10 * second) == .backend(index: 1, wake: nil))
    }

    // MARK: - Reasons

    @Test func theRefusalSaysWhyEachCandidateCannotTakeIt() {
        var probed = BackendRouting()
        probed.health = .init(target: .path("/health"), intervalNs: 10 * second)
        let f = Fixture([Spec(name: "limited"), Spec(name: "keyless"), Spec(name: "down", routing: probed),
                         Spec(name: "starting", routing: probed), Spec(name: "tripped")])
        let now = 100 * second
        f.runtime(0).coolDown(untilNs: now + 30 * second, reason: "rate limited: HTTP 429 (Retry-After: 30)", cause: .quota)
        f.runtime(1).coolDown(untilNs: now + 300 * second,
                              reason: "misconfigured: it rejected the gateway's credentials (HTTP 401)", cause: .misconfigured)
        _ = f.runtime(2).recordProbe(.down("connection refused"), nowNs: now)
        _ = f.runtime(3).recordProbe(.starting, nowNs: now)
        f.fail(4, at: now)
        var route = f.route(nowNs: now)
        // The tripped one is the only open circuit: it is the forced trial, the rest stay out.
        #expect(next(&route, now) == .backend(index: 4, wake: nil))
        // Its trial failed: nothing is left, and each says why.
        f.runtime(4).finish(nowNs: now, verdict: .failure("HTTP 503"), cold: nil)
        #expect(next(&route, now + second) == .refuse([
            "limited: rate limited: HTTP 429 (Retry-After: 30) (cooling down for 29s)",
            "keyless: misconfigured: it rejected the gateway's credentials (HTTP 401) (cooling down for 299s)",
            "down: health probe failed: connection refused",
            "starting: starting (health probe)",
        ]))
    }

    @Test func aHalfOpenTrialInFlightKeepsOthersOutWithItsReason() {
        let f = Fixture([Spec(name: "b")])
        f.fail(0, at: 0)
        #expect(f.runtime(0).acquire(nowNs: 10 * second, forced: false))  // the trial
        var route = f.route(nowNs: 10 * second)
        #expect(next(&route, 10 * second) == .refuse(["b: circuit half-open, its trial request is running"]))
        var scratch = RouteScratch()
        #expect(route.currentReasons(nowNs: 10 * second, scratch: &scratch) == ["b: circuit half-open, its trial request is running"])
    }

    @Test func secondsAreWrittenWithAtMostOneDecimal() {
        #expect(RequestRoute.seconds(ms: 0) == "0s")
        #expect(RequestRoute.seconds(ms: 1_500) == "1.5s")
        #expect(RequestRoute.seconds(ms: 30_000) == "30s")
        #expect(RequestRoute.seconds(ms: 1_999) == "1.9s")
        #expect(RequestRoute.seconds(ms: .max).hasSuffix("s"))
    }

    // MARK: - Decision log

    @Test func eachDecisionIsLoggedWithEveryCandidatesInputs() {
        let one = BackendRouting(maxConcurrency: 1)
        let f = Fixture([Spec(name: "busy", routing: one),
                         Spec(name: "paid", cost: .perSecond(perSecond: MicroDollars(1_000)), runMs: 2_000)])
        #expect(f.runtime(0).acquire(nowNs: 0, forced: false))
        var route = f.route()
        #expect(next(&route, second, wallMs: 1_700_000_000_000) == .backend(index: 1, wake: nil))
        let entry = f.lastDecision
        #expect(entry?.atUnixMs == 1_700_000_000_000)
        #expect(entry?.model == "m")
        #expect(entry?.candidates.map(\.backend) == ["busy", "paid"])
        #expect(entry?.candidates.map(\.picked) == [false, true])
        #expect(entry?.candidates[0].skip == "full (1/1 in flight)")
        #expect(entry?.candidates[0].inFlight == 1)
        #expect(entry?.candidates[0].pCold == 0)  // in flight keeps it warm
        #expect(entry?.candidates[1].expectedCost == MicroDollars(2_000))
        #expect(entry?.candidates[1].expectedLatencyMs == 2_000)
        #expect(entry?.candidates[1].pCold == 1)  // never used since start
        #expect(entry?.candidates[1].skip == nil)
    }

    @Test func theLogKeepsTheLastSixteenOldestFirst() {
        let f = Fixture([Spec(name: "a")])
        for wall in 1...20 {
            var route = f.route()
            _ = next(&route, second, wallMs: Int64(wall))
            f.runtime(0).finish(nowNs: second, verdict: .success, cold: nil)
        }
        let entries = f.tables.models[0].decisions.entries()
        #expect(entries.map(\.atUnixMs) == Array(5...20).map(Int64.init))
    }
}
