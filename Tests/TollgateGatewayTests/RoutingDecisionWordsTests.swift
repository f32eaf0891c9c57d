// SPDX-License-Identifier: Apache-2.0
// One request's decisions over a board with the test's own clock: the decision log names every
// candidate with why it was skipped (an open circuit with its time left and last failure, a
// full one, one too slow for max_latency), in the words of the 503 — the words are made when
// the log is read, from what the decision saw, so a later read says the same; a request that
// waited hears each untried candidate's reason; a model with nothing to take it is refused with
// each reason (a cool-down's own words).
import Testing
import TollgateCore
import TollgateRouting
import TollgateBackends
@testable import TollgateGateway

struct RoutingDecisionWordsTests {
    private let second: UInt64 = 1_000_000_000

    private func plan(_ name: String, _ cost: CostModel, max: Int = 16, runMs: Int64 = 1_000) -> BackendPlan {
        BackendPlan(name: name, kind: SimulatedKind(options: SimulatedBackendOptions(name: name)), upstreamModel: nil,
                    firstByteTimeoutNs: second, costModel: cost, expectedRunMs: runMs,
                    routing: BackendRouting(maxConcurrency: max))
    }

    @Test func theLogAndThe503SayWhyEachCandidateWasSkipped() throws {
        let backends = [plan("dear", .perRequest(MicroDollars(10_000))),
                        plan("broken", .perRequest(MicroDollars(1_000))),
                        plan("box", .alwaysOn(perHour: MicroDollars(400_000)), max: 1),
                        plan("slow", .perRequest(MicroDollars(100)), runMs: 60_000),
                        plan("cool", .perRequest(MicroDollars(100)))]
        let model = ModelPlan(name: "m", task: .chat, backends: [0, 1, 2, 3], attempts: 2, maxLatencyMs: 30_000)
        let lone = ModelPlan(name: "lone", task: .chat, backends: [3, 4], attempts: 2, maxLatencyMs: 30_000)
        let tables = BackendBoard().bind(backends: backends, models: [model, lone], nowNs: 0)
        for _ in 0..<3 {
            #expect(tables.runtimes[1].acquire(nowNs: second, forced: false))
            tables.runtimes[1].finish(nowNs: second, verdict: .failure("HTTP 502"), cold: nil)
        }
        #expect(tables.runtimes[2].acquire(nowNs: second, forced: false))
        tables.runtimes[4].coolDown(untilNs: 5 * second, reason: "quota exceeded", cause: .quota)

        var scratch = RouteScratch()
        var route = RequestRoute(model: model, routing: tables.models[0], tables: tables, backends: backends, nowNs: 2 * second)
        #expect(route.next(nowNs: 2 * second, wallMs: 1_000, scratch: &scratch) == .backend(index: 0, wake: nil))
        let entry = try #require(tables.models[0].decisions.entries().last)
        #expect(entry.atUnixMs == 1_000 && entry.model == "m")
        #expect(entry.candidates.map(\.backend) == ["dear", "broken", "box", "slow"])
        #expect(entry.candidates.map(\.picked) == [true, false, false, false])
        let skips = ["circuit open for 9s (last failure: HTTP 502)", "full (1/1 in flight)",
                     "expected 60s exceeds max_latency 30s"]
        #expect(entry.candidates.map(\.skip) == [nil] + skips)
        #expect(entry.candidates.map(\.expectedCost) == [MicroDollars(10_000), MicroDollars(1_000), .zero, MicroDollars(100)])
        #expect(entry.candidates.map(\.expectedLatencyMs) == [1_000, 1_000, 1_000, 60_000])
        #expect(entry.candidates.map(\.inFlight) == [0, 0, 1, 0])

        // Its attempt fails; the circuit's time keeps running, but the logged decision says
        // what it saw then.
        tables.runtimes[0].finish(nowNs: 3 * second, verdict: .failure("HTTP 500"), cold: nil)
        #expect(route.next(nowNs: 3 * second, wallMs: 2_000, scratch: &scratch) == .wait)
        #expect(tables.models[0].decisions.entries().first?.candidates.map(\.skip) == [nil] + skips)
        let waited = try #require(tables.models[0].decisions.entries().last)
        #expect(waited.candidates.map(\.skip) == ["already tried", "circuit open for 8s (last failure: HTTP 502)",
                                                  "full (1/1 in flight)", "expected 60s exceeds max_latency 30s"])
        #expect(route.currentReasons(nowNs: 4 * second, scratch: &scratch)
            == ["broken: circuit open for 7s (last failure: HTTP 502)", "box: full (1/1 in flight)",
                "slow: expected 60s exceeds max_latency 30s"])

        var refused = RequestRoute(model: lone, routing: tables.models[1], tables: tables, backends: backends, nowNs: 2 * second)
        #expect(refused.next(nowNs: 2 * second, wallMs: 3_000, scratch: &scratch)
            == .refuse(["slow: expected 60s exceeds max_latency 30s", "cool: quota exceeded (cooling down for 3s)"]))
        #expect(tables.models[1].decisions.entries().last?.candidates.map(\.skip)
            == ["expected 60s exceeds max_latency 30s", "quota exceeded (cooling down for 3s)"])
    }

    /// A loop reuses what it read of a backend nothing changed since (RouteScratch), so every
    /// change must be seen by the next decision: a probe's verdict, a cool-down, a circuit
    /// that opens, a slot taken on another loop.
    @Test func aLoopsCachedReadSeesEveryChange() {
        let backends = [plan("cheap", .perRequest(MicroDollars(100))), plan("dear", .perRequest(MicroDollars(10_000)), max: 1)]
        let model = ModelPlan(name: "m", task: .chat, backends: [0, 1], attempts: 1)
        let tables = BackendBoard().bind(backends: backends, models: [model], nowNs: 0)
        var scratch = RouteScratch()
        func decide(_ now: UInt64) -> RequestRoute.Next {
            var route = RequestRoute(model: model, routing: tables.models[0], tables: tables, backends: backends, nowNs: now)
            return route.next(nowNs: now, wallMs: 0, scratch: &scratch)
        }
        #expect(decide(second) == .backend(index: 0, wake: nil))
        tables.runtimes[0].finish(nowNs: second, verdict: .success, cold: nil)
        // Both read twice: the second read of `dear` comes from the cache.
        #expect(decide(2 * second) == .backend(index: 0, wake: nil))
        tables.runtimes[0].finish(nowNs: 2 * second, verdict: .success, cold: nil)
        #expect(scratch.facts.compactMap { $0 }.count == 2)

        tables.runtimes[0].coolDown(untilNs: 100 * second, reason: "quota exceeded", cause: .quota)
        #expect(decide(3 * second) == .backend(index: 1, wake: nil))
        // Taken on "another loop": this one's cached read of `dear` must not call it free.
        #expect(decide(3 * second) == .wait)
        tables.runtimes[1].finish(nowNs: 4 * second, verdict: .failure("HTTP 502"), cold: nil)
        #expect(decide(5 * second) == .backend(index: 1, wake: nil))
        tables.runtimes[1].finish(nowNs: 5 * second, verdict: .success, cold: nil)
        #expect(tables.runtimes[1].recordProbe(.down("connection refused"), nowNs: 6 * second) == false)
        #expect(decide(7 * second) == .refuse(["cheap: quota exceeded (cooling down for 93s)",
                                               "dear: health probe failed: connection refused"]))
        #expect(tables.runtimes[1].recordProbe(.up(warm: nil), nowNs: 8 * second) == false)
        for failure in ["HTTP 500", "HTTP 502", "HTTP 503"] {
            #expect(decide(9 * second) == .backend(index: 1, wake: nil))
            tables.runtimes[1].finish(nowNs: 12 * second, verdict: .failure(failure), cold: nil)
        }
        // Three failures in a row: open for 10 s, and the only candidate left is tried anyway
        // (every circuit open: the least recently failed one).
        #expect(tables.runtimes[1].candidate(costModel: .free, expectedRunMs: 1_000, coldStartMs: 0, nowNs: 13 * second)
            .candidate.availability == .circuitOpen(untilNs: 22 * second, lastFailureNs: 12 * second))
        #expect(decide(13 * second) == .backend(index: 1, wake: nil))
    }
}
