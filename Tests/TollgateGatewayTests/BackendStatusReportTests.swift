// SPDX-License-Identifier: Apache-2.0
// `GET /admin/backends`' rows read from a plan and its board on the test's clock: each state
// (up, cooling_down, misconfigured, circuit_open, half_open, probe_down, starting, paused,
// waking) with its reason and eligibility, the circuit's figures, the probe's word and age,
// the idle lifecycle's counts, and each backend's part in the model's last decisions.
import CLinux
import Testing
import TollgateBackends
import TollgateCore
import TollgateRouting
@testable import TollgateGateway

struct BackendStatusReportTests {
    private let second: UInt64 = 1_000_000_000

    private func plan(_ routings: [(String, BackendRouting, CostModel)], models: [ModelPlan] = []) -> GatewayPlan {
        let kind = SimulatedKind(options: SimulatedBackendOptions(name: "sim"))
        return GatewayPlan(
            backends: routings.map {
                BackendPlan(name: $0.0, kind: kind, upstreamModel: nil, firstByteTimeoutNs: second, costModel: $0.2,
                            expectedRunMs: 2_000, routing: $0.1, kindName: "openai")
            },
            models: models, users: [], keys: [])
    }

    private func circuit(failures: Int = 1) -> BackendRouting {
        BackendRouting(maxConcurrency: 2, circuitFailures: failures, circuitCooldownNs: 10 * second,
                       circuitMaxCooldownNs: 40 * second)
    }

    private func row(_ plan: GatewayPlan, _ index: Int, at nowNs: UInt64) -> BackendStatus {
        BackendStatusReport.rows(plan, nowNs: nowNs)[index]
    }

    @Test func aFreshBackendIsUpWithAClosedCircuit() {
        let p = plan([("b", circuit(failures: 3), .perSecond(perSecond: MicroDollars(100)))])
        let r = row(p, 0, at: second)
        #expect(r.name == "b" && r.kind == "openai" && r.billing == "per_second")
        #expect(r.state == "up" && r.eligible && r.reason == nil)
        #expect(r.inFlight == 0 && r.maxConcurrency == 2)
        #expect(r.circuit == .init(state: "closed", consecutiveFailures: 0, openForMs: nil, nextCooldownMs: 10_000))
        #expect(r.probe == nil && r.idle == nil)
        #expect(r.pCold == 1)
        #expect(r.coldAfterMs == BackendRuntime.coldAfterPriorMs)
    }

    @Test func aRateLimitedBackendIsCoolingDownWithItsReason() {
        let p = plan([("b", circuit(), .free)])
        p.routing.runtimes[0].coolDown(untilNs: 40 * second, reason: "rate limited: HTTP 429 (Retry-After: 30)", cause: .quota)
        let r = row(p, 0, at: 10 * second)
        #expect(r.state == "cooling_down" && !r.eligible)
        #expect(r.reason == "rate limited: HTTP 429 (Retry-After: 30) (cooling down for 30s)")
        // Over: up again, no reason left.
        let after = row(p, 0, at: 40 * second)
        #expect(after.state == "up" && after.eligible && after.reason == nil)
    }

    @Test func refusedCredentialsShowAsMisconfigured() {
        let p = plan([("b", circuit(), .free)])
        p.routing.runtimes[0].coolDown(untilNs: 300 * second, reason: "misconfigured: it rejected the gateway's credentials (HTTP 401)",
                                       cause: .misconfigured)
        let r = row(p, 0, at: 0)
        #expect(r.state == "misconfigured" && !r.eligible)
        #expect(r.reason == "misconfigured: it rejected the gateway's credentials (HTTP 401) (cooling down for 300s)")
    }

    @Test func anOpenCircuitThenItsHalfOpenTrialThenClosedAgain() {
        let p = plan([("b", circuit(failures: 2), .free)])
        let rt = p.routing.runtimes[0]
        for at in [1, 2] {
            #expect(rt.acquire(nowNs: UInt64(at) * second, forced: false))
            rt.finish(nowNs: UInt64(at) * second, verdict: .failure("HTTP 502"), cold: nil)
        }
        let open = row(p, 0, at: 5 * second)
        #expect(open.state == "circuit_open" && !open.eligible)
        #expect(open.circuit == .init(state: "open", consecutiveFailures: 2, openForMs: 7_000, nextCooldownMs: 10_000))
        #expect(open.reason == "circuit open for 7s (last failure: HTTP 502)")

        #expect(rt.acquire(nowNs: 12 * second, forced: false))  // the trial
        let trial = row(p, 0, at: 12 * second)
        #expect(trial.state == "half_open" && trial.eligible)
        #expect(trial.circuit.state == "half_open" && trial.circuit.openForMs == nil)
        #expect(trial.inFlight == 1)

        // The trial fails: open again, for twice as long.
        rt.finish(nowNs: 13 * second, verdict: .failure("HTTP 502"), cold: nil)
        let reopened = row(p, 0, at: 13 * second)
        #expect(reopened.state == "circuit_open")
        #expect(reopened.circuit == .init(state: "open", consecutiveFailures: 3, openForMs: 20_000, nextCooldownMs: 20_000))

        #expect(rt.acquire(nowNs: 33 * second, forced: false))
        rt.finish(nowNs: 34 * second, verdict: .success, cold: nil)
        let closed = row(p, 0, at: 34 * second)
        #expect(closed.state == "up" && closed.reason == nil)
        #expect(closed.circuit == .init(state: "closed", consecutiveFailures: 0, openForMs: nil, nextCooldownMs: 10_000))
    }

    @Test func aFailureBelowTheThresholdIsNamedButTheBackendStaysUp() {
        let p = plan([("b", circuit(failures: 3), .free)])
        #expect(p.routing.runtimes[0].acquire(nowNs: second, forced: false))
        p.routing.runtimes[0].finish(nowNs: second, verdict: .failure("timed out"), cold: nil)
        let r = row(p, 0, at: 2 * second)
        #expect(r.state == "up" && r.eligible)
        #expect(r.reason == "last failure: timed out")
        #expect(r.circuit.consecutiveFailures == 1)
    }

    @Test func theProbesWordAndAge() {
        var probed = circuit()
        probed.health = .init(target: .path("/healthz"), intervalNs: 10 * second)
        let p = plan([("b", probed, .free)])
        let rt = p.routing.runtimes[0]
        let never = row(p, 0, at: second)
        #expect(never.probe == .init(target: "GET /healthz", verdict: "not probed yet", agoMs: nil))
        #expect(never.state == "up")

        _ = rt.recordProbe(.down("HTTP 503"), nowNs: 2 * second)
        let down = row(p, 0, at: 3 * second)
        #expect(down.state == "probe_down" && !down.eligible)
        #expect(down.reason == "health probe failed: HTTP 503")
        #expect(down.probe == .init(target: "GET /healthz", verdict: "down: HTTP 503", agoMs: 1_000))

        _ = rt.recordProbe(.starting, nowNs: 4 * second)
        let starting = row(p, 0, at: 4 * second)
        #expect(starting.state == "starting" && !starting.eligible && starting.reason == "starting (health probe)")

        _ = rt.recordProbe(.up(warm: true), nowNs: 5 * second)
        let up = row(p, 0, at: 5 * second)
        #expect(up.state == "up" && up.eligible && up.probe?.verdict == "up (warm)")
        #expect(up.pCold == 0)  // the probe says capacity is up
    }

    /// Each loop reads its own cached clock: a probe another loop stamped a little "later"
    /// than the admin request's loop reads now is 0 ms old, not half a million years.
    @Test func aProbeStampedByALoopWhoseClockIsAheadIsNoAge() {
        var probed = circuit()
        probed.health = .init(target: .path("/healthz"), intervalNs: 10 * second)
        let p = plan([("b", probed, .free)])
        _ = p.routing.runtimes[0].recordProbe(.up(warm: nil), nowNs: 5 * second)
        #expect(row(p, 0, at: 5 * second - 1_000).probe?.agoMs == 0)
    }

    @Test func aPausedSpaceThenWakingThenUp() {
        var space = circuit()
        space.coldStartMs = 30_000
        space.idle = .init(afterNs: 60 * second, call: .space("org/space"))
        space.health = .init(target: .hubRuntime(space: "org/space"), intervalNs: 30 * second)
        let p = plan([("space", space, .alwaysOn(perHour: MicroDollars(3_600_000)))])
        let rt = p.routing.runtimes[0]
        // The plan binds its lifecycles on the real monotonic clock: times from there on.
        let t0 = tg_monotonic_ns()
        let active = row(p, 0, at: t0 + second)
        #expect(active.idle == .init(state: "active", after: 60_000, pauses: 0, wakes: 0, savedUSD: 0))
        #expect(active.probe?.target == "hub runtime of org/space")

        #expect(rt.idleTick(nowNs: t0 + 61 * second) == .pause)
        #expect(row(p, 0, at: t0 + 61 * second).idle?.state == "pausing")
        rt.pauseFinished(ok: true, nowNs: t0 + 61 * second)
        let paused = row(p, 0, at: t0 + 71 * second)
        #expect(paused.state == "paused")
        #expect(paused.idle?.state == "paused" && paused.idle?.pauses == 1)
        // $3.60 an hour not spent for 10 s.
        #expect(paused.idle?.savedUSD == 0.01)

        #expect(rt.wakeNeeded(nowNs: t0 + 80 * second))
        #expect(!rt.wakeNeeded(nowNs: t0 + 80 * second))  // once
        let waking = row(p, 0, at: t0 + 81 * second)
        #expect(waking.state == "waking" && waking.idle?.state == "waking")

        #expect(rt.recordProbe(.up(warm: true), nowNs: t0 + 90 * second))
        let woke = row(p, 0, at: t0 + 90 * second)
        #expect(woke.state == "up" && woke.idle?.wakes == 1 && woke.idle?.state == "active")
    }

    @Test func eachBackendSeesItsPartInTheModelsDecisions() {
        let model = ModelPlan(name: "chat", task: .chat, backends: [0, 1], attempts: 2)
        let p = plan([("cheap", circuit(), .free), ("dear", circuit(), .perRequest(MicroDollars(2_500)))], models: [model])
        let routing = p.modelRouting(0)!
        var route = RequestRoute(model: model, routing: routing, tables: p.routing, backends: p.backends, nowNs: 0)
        var scratch = RouteScratch()
        #expect(route.next(nowNs: second, wallMs: 1_000, scratch: &scratch) == .backend(index: 0, wake: nil))
        #expect(route.next(nowNs: second, wallMs: 2_000, scratch: &scratch) == .backend(index: 1, wake: nil))
        let rows = BackendStatusReport.rows(p, nowNs: 2 * second)
        #expect(rows[0].expectedRun == [.init(model: "chat", ms: 2_000)])
        #expect(rows[0].inFlight == 1 && rows[1].inFlight == 1)
        let cheap = rows[0].lastDecisions
        #expect(cheap.map(\.atUnixMs) == [1_000, 2_000])
        #expect(cheap.map(\.picked) == [true, false])
        #expect(cheap[1].skip == "already tried")
        let dear = rows[1].lastDecisions
        #expect(dear.map(\.picked) == [false, true])
        #expect(dear[0].skip == nil)  // not skipped: the cheaper one won
        #expect(dear[0].expectedCostUSD == 0.0025)
        #expect(dear.allSatisfy { $0.model == "chat" })
    }
}
