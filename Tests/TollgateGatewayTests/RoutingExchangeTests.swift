// SPDX-License-Identifier: Apache-2.0
// The router inside a real exchange (gateway on 127.0.0.1 port 0, scripted backends): a 429
// with Retry-After cools its backend down (the next request skips it, a model with nothing
// else gets 503 with the reason); three 5xx open the circuit (later requests skip it, and
// with every circuit open the least recently failed one still gets a trial); max_concurrency 1
// with a request held makes the next wait in line and go when the first ends, in FIFO order;
// `queue_timeout` answers 503 `no_backend_available` with Retry-After.
import CLinux
import Glibc
import Testing
import TollgateTestSupport
import TollgateBackends
@testable import TollgateGateway
import TollgateCore
import TollgateRouting
import TollgateHTTP

@Suite(.serialized)
struct RoutingExchangeTests {
    static let answer = #"{"answer":1}"#
    static let ok = Script([.readBody, .head(200, [("content-type", "application/json")], contentLength: answer.utf8.count),
                            .body(answer), .end(.completed, TokenUsage())])

    static func error(_ status: Int, headers: [(String, String)] = []) -> Script {
        let body = #"{"error":{"message":"nope"}}"#
        return Script([.readBody, .head(status, [("content-type", "application/json")] + headers, contentLength: body.utf8.count),
                       .body(body), .end(.completed, TokenUsage())])
    }

    /// Holds its call until `gate` opens, then answers 200.
    static func held(_ gate: Gate) -> Script {
        Script([.readBody, .hold(gate), .head(200, [("content-type", "application/json")], contentLength: answer.utf8.count),
                .body(answer), .end(.completed, TokenUsage())])
    }

    @Test func a429WithRetryAfterCoolsTheBackendDown() throws {
        let server = try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "limited", scripts: [Self.error(429, headers: [("retry-after", "120")])]),
                       // Dearer, so only a cooled-down `limited` sends requests here.
                       ScriptedBackendSpec(name: "spare", scripts: [Self.ok], costModel: .perRequest(MicroDollars(1)))],
            models: [("m", [0, 1], 2), ("only-limited", [0], 1)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)

        client.post(body: ProxyTestServer.chat())
        let first = try client.response()
        #expect(first.status == 200 && first.header("x-tollgate-backend") == "spare")
        let cooldown = server.plan.routing.runtimes[0].cooldown(nowNs: tg_monotonic_ns())
        #expect(cooldown?.cause == .quota)
        #expect(cooldown?.reason.hasSuffix("(Retry-After: 120)") == true)
        // Two minutes from the 429, not the circuit's 10 s.
        if let until = cooldown?.untilNs { #expect(until > tg_monotonic_ns() + 100 * 1_000_000_000) }
        // A 429 is the backend saying "not now", not failing: its circuit is untouched.
        #expect(server.plan.routing.runtimes[0].snapshot().circuit.consecutiveFailures == 0)

        client.post(body: ProxyTestServer.chat())
        let second = try client.response()
        #expect(second.status == 200 && second.header("x-tollgate-backend") == "spare")
        #expect(server.log.snapshot.map(\.backend) == ["limited", "spare", "spare"])

        client.post(body: ProxyTestServer.chat(model: "only-limited"))
        let refused = try client.response()
        #expect(refused.status == 503)
        #expect(refused.text.contains("\"code\":\"no_backend_available\""))
        #expect(refused.text.contains("limited: rate limited: "))
        #expect(refused.text.contains("(Retry-After: 120) (cooling down for 120s)"))
        // The 503 says when to come back: when the cool-down ends (RFC 9110 §10.2.3).
        let back = Int(refused.header("retry-after") ?? "") ?? 0
        #expect(back > 100 && back <= 120)
        #expect(server.log.snapshot.count == 3)
    }

    /// The cool-down a 429 left on backend 0, in seconds from now (nil: none).
    private func cooldownSeconds(_ server: ProxyTestServer) -> (seconds: UInt64, reason: String, cause: BackendRuntime.Cooldown.Cause)? {
        let now = tg_monotonic_ns()
        guard let c = server.plan.routing.runtimes[0].cooldown(nowNs: now) else { return nil }
        return ((c.untilNs - now) / 1_000_000_000, c.reason, c.cause)
    }

    private func limitedServer(_ script: Script) throws -> ProxyTestServer {
        try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "limited", scripts: [script]),
                       ScriptedBackendSpec(name: "spare", scripts: [Self.ok], costModel: .perRequest(MicroDollars(1)))],
            models: [("m", [0, 1], 2)])
    }

    @Test func a429WithAnHTTPDateCoolsUntilThatTime() throws {
        let at = Int64(tg_realtime_ns() / 1_000_000_000) + 600
        let server = try limitedServer(Self.error(429, headers: [("Retry-After", HTTPDate.format(unixSeconds: at))]))
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        #expect(try client.response().header("x-tollgate-backend") == "spare")
        let cooldown = try #require(cooldownSeconds(server))
        // Ten minutes from the date's second (the test's own seconds between may pass).
        #expect((590...600).contains(cooldown.seconds))
        #expect(cooldown.reason.hasSuffix("(Retry-After: \(HTTPDate.format(unixSeconds: at)))"))
    }

    @Test func a429WithoutAUsableRetryAfterCoolsForTheCircuitCooldown() throws {
        let server = try limitedServer(Self.error(429, headers: [("retry-after", "soon")]))
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        #expect(try client.response().header("x-tollgate-backend") == "spare")
        let cooldown = try #require(cooldownSeconds(server))
        // `circuit.cooldown`'s default, 10 s.
        #expect((8...10).contains(cooldown.seconds))
        #expect(cooldown.reason.hasSuffix("(Retry-After: soon)"))
    }

    @Test func refusedCredentialsMarkTheBackendMisconfigured() throws {
        let server = try limitedServer(Self.error(401))
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        for _ in 0..<2 {
            client.post(body: ProxyTestServer.chat())
            #expect(try client.response().header("x-tollgate-backend") == "spare")
        }
        #expect(server.log.snapshot.map(\.backend) == ["limited", "spare", "spare"])
        let cooldown = try #require(cooldownSeconds(server))
        #expect(cooldown.cause == .misconfigured)
        #expect(cooldown.reason == "misconfigured: it rejected the gateway's credentials (HTTP 401)")
        // For `circuit.max_cooldown` (default 300 s).
        #expect((290...300).contains(cooldown.seconds))
        let row = BackendStatusReport.rows(server.plan, nowNs: tg_monotonic_ns())[0]
        #expect(row.state == "misconfigured" && !row.eligible)
    }

    @Test func threeServerErrorsOpenTheCircuit() throws {
        let server = try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "flaky", scripts: [Self.error(500)]),
                       ScriptedBackendSpec(name: "steady", scripts: [Self.ok], costModel: .perRequest(MicroDollars(1)))],
            models: [("m", [0, 1], 2), ("only-flaky", [0], 1)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        for _ in 0..<3 {
            client.post(body: ProxyTestServer.chat())
            let reply = try client.response()
            #expect(reply.status == 200 && reply.header("x-tollgate-backend") == "steady")
        }
        #expect(server.log.snapshot.map(\.backend) == ["flaky", "steady", "flaky", "steady", "flaky", "steady"])
        let circuit = server.plan.routing.runtimes[0].snapshot().circuit
        guard case .open = circuit.state else {
            Issue.record("the circuit is \(circuit.state), not open")
            return
        }
        #expect(circuit.consecutiveFailures == 3)

        // Open: the fourth request goes straight to the other backend.
        client.post(body: ProxyTestServer.chat())
        let fourth = try client.response()
        #expect(fourth.status == 200 && fourth.header("x-tollgate-backend") == "steady")
        #expect(server.log.snapshot.count == 7)

        // A model whose only candidate's circuit is open: every circuit is open, so it gets a
        // trial (issue 12 item 3) — which fails again here, and the client hears why.
        client.post(body: ProxyTestServer.chat(model: "only-flaky"))
        let trial = try client.response()
        #expect(server.log.snapshot.map(\.backend).last == "flaky")
        #expect(server.log.snapshot.count == 8)
        #expect(trial.status == 502)
    }

    @Test func aFullBackendMakesTheNextRequestWaitUntilTheFirstEnds() throws {
        let gate = Gate()
        var solo = ScriptedBackendSpec(name: "solo", scripts: [Self.held(gate), Self.ok])
        solo.routing = BackendRouting(maxConcurrency: 1)
        let server = try ProxyTestServer(
            backends: [solo],
            modelPlans: [ModelPlan(name: "m", task: .chat, backends: [0], attempts: 1, queueTimeoutNs: 20_000_000_000)])
        defer { server.stop() }
        let runtime = server.plan.routing.runtimes[0]
        let first = try RawClient(port: server.port)
        first.post(body: ProxyTestServer.chat(extra: #","user":"first""#))
        #expect(eventually { runtime.inFlight == 1 })

        let second = try RawClient(port: server.port)
        second.post(body: ProxyTestServer.chat(extra: #","user":"second""#))
        let third = try RawClient(port: server.port)
        #expect(eventually { server.plan.board.waiting.load(ordering: .relaxed) == 1 })
        third.post(body: ProxyTestServer.chat(extra: #","user":"third""#))
        #expect(eventually { server.plan.board.waiting.load(ordering: .relaxed) == 2 })
        // Both wait: the backend saw only the first.
        #expect(server.log.snapshot.count == 1)
        #expect(runtime.inFlight == 1)

        gate.open()
        let a = try first.response()
        let b = try second.response()
        let c = try third.response()
        #expect(a.status == 200 && b.status == 200 && c.status == 200)
        // In arrival order, one at a time.
        let bodies = server.log.snapshot.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(bodies.count == 3)
        #expect(bodies.map { $0.contains("\"first\"") } == [true, false, false])
        #expect(bodies.map { $0.contains("\"second\"") } == [false, true, false])
        #expect(bodies.map { $0.contains("\"third\"") } == [false, false, true])
        #expect(eventually { runtime.inFlight == 0 && server.plan.board.waiting.load(ordering: .relaxed) == 0 })
        // The wait is metered as the gateway's own queue time.
        let records = server.records.wait(for: 3)
        #expect(records.count == 3)
    }

    @Test func queueTimeoutAnswers503WithRetryAfter() throws {
        let gate = Gate()
        var solo = ScriptedBackendSpec(name: "solo", scripts: [Self.held(gate), Self.ok])
        solo.routing = BackendRouting(maxConcurrency: 1)
        solo.expectedRunMs = 2_500
        let server = try ProxyTestServer(
            backends: [solo],
            modelPlans: [ModelPlan(name: "m", task: .chat, backends: [0], attempts: 1, queueTimeoutNs: 300_000_000)])
        defer { server.stop() }
        let runtime = server.plan.routing.runtimes[0]
        let first = try RawClient(port: server.port)
        first.post(body: ProxyTestServer.chat())
        #expect(eventually { runtime.inFlight == 1 })

        let second = try RawClient(port: server.port)
        let asked = tg_monotonic_ns()
        second.post(body: ProxyTestServer.chat())
        let refused = try second.response()
        let waited = tg_monotonic_ns() - asked
        #expect(refused.status == 503)
        #expect(refused.text.contains("\"code\":\"no_backend_available\""))
        #expect(refused.text.contains("No backend could take the request within its wait ("))
        #expect(refused.text.contains("solo: full (1/1 in flight)"))
        // Come back after the shortest expected run, in whole seconds (2.5 s → 3).
        #expect(refused.header("retry-after") == "3")
        #expect(waited >= 300_000_000)
        #expect(server.log.snapshot.count == 1)
        #expect(server.plan.board.waiting.load(ordering: .relaxed) == 0)

        gate.open()
        #expect(try first.response().status == 200)
    }

    @Test func theCheapestCandidateGetsTheRequestWhateverTheConfigOrder() throws {
        let server = try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "dear", scripts: [Self.ok], costModel: .perRequest(MicroDollars(5_000))),
                       ScriptedBackendSpec(name: "metered", scripts: [Self.ok], costModel: .perSecond(perSecond: MicroDollars(1_000))),
                       ScriptedBackendSpec(name: "boxed", scripts: [Self.ok], costModel: .alwaysOn(perHour: MicroDollars(2_000_000)))],
            models: [("m", [0, 1, 2], 1), ("paid", [0, 1], 1)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        #expect(try client.response().header("x-tollgate-backend") == "boxed")
        // 1 s at $0.001/s is cheaper than a $0.005 request.
        client.post(body: ProxyTestServer.chat(model: "paid"))
        #expect(try client.response().header("x-tollgate-backend") == "metered")
    }

    @Test func aModelsMaxLatencySkipsSlowCandidatesAndSaysSo() throws {
        let server = try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "slow", scripts: [Self.ok], expectedRunMs: 2_000),
                       ScriptedBackendSpec(name: "quick", scripts: [Self.ok], costModel: .perRequest(MicroDollars(10)), expectedRunMs: 300)],
            modelPlans: [ModelPlan(name: "m", task: .chat, backends: [0, 1], attempts: 2, maxLatencyMs: 500),
                         ModelPlan(name: "slow-only", task: .chat, backends: [0], attempts: 1, maxLatencyMs: 500)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        #expect(try client.response().header("x-tollgate-backend") == "quick")
        client.post(body: ProxyTestServer.chat(model: "slow-only"))
        let refused = try client.response()
        #expect(refused.status == 503)
        #expect(refused.text.contains("slow: expected 2s exceeds max_latency 0.5s"))
        #expect(server.log.snapshot.map(\.backend) == ["quick"])
    }

    @Test func aSuccessfulRunTeachesTheExpectedRun() throws {
        let server = try ProxyTestServer(backends: [ScriptedBackendSpec(name: "b", scripts: [Self.ok], expectedRunMs: 10_000)],
                                         models: [("m", [0], 1)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        let cell = try #require(server.plan.modelRouting(0)?.runs.first)
        #expect(cell.ms == 10_000)
        client.post(body: ProxyTestServer.chat())
        #expect(try client.response().status == 200)
        // A run of a few ms moves the average a fifth of the way down (α = 1/5).
        #expect(eventually { cell.measuredRuns == 1 })
        #expect((7_900...8_000).contains(cell.ms))
    }

    @Test func aClientThatLeavesTheLineGivesUpItsPlace() throws {
        let gate = Gate()
        var solo = ScriptedBackendSpec(name: "solo", scripts: [Self.held(gate), Self.ok])
        solo.routing = BackendRouting(maxConcurrency: 1)
        let server = try ProxyTestServer(
            backends: [solo],
            modelPlans: [ModelPlan(name: "m", task: .chat, backends: [0], attempts: 1, queueTimeoutNs: 20_000_000_000)])
        defer { server.stop() }
        let runtime = server.plan.routing.runtimes[0]
        let waiting = { server.plan.board.waiting.load(ordering: .relaxed) }
        let first = try RawClient(port: server.port)
        first.post(body: ProxyTestServer.chat())
        #expect(eventually { runtime.inFlight == 1 })
        do {
            let leaver = try RawClient(port: server.port)
            leaver.post(body: ProxyTestServer.chat(extra: #","user":"leaver""#))
            #expect(eventually { waiting() == 1 })
            leaver.hangUp()
        }
        #expect(eventually { waiting() == 0 })
        let stayer = try RawClient(port: server.port)
        stayer.post(body: ProxyTestServer.chat(extra: #","user":"stayer""#))
        #expect(eventually { waiting() == 1 })
        gate.open()
        #expect(try first.response().status == 200)
        #expect(try stayer.response().status == 200)
        let bodies = server.log.snapshot.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(bodies.count == 2)
        #expect(bodies.last?.contains("stayer") == true)
    }

    /// A reply that reports a cold start teaches the backend's cold-after with the time it had
    /// been idle before that request (SPEC §4 P(cold) "against its observed cold-after") —
    /// the gap up to the request's start, not from its own start (0).
    @Test func aColdStartTeachesTheIdleGapBeforeTheRequest() throws {
        let body = Self.answer
        func run(cold: Bool) -> Script {
            Script([.readBody, .head(200, [("content-type", "application/json")], contentLength: body.utf8.count),
                    .body(body), .report(BackendReport(outcome: .completed, coldStart: cold))])
        }
        let server = try ProxyTestServer(backends: [ScriptedBackendSpec(name: "b", scripts: [run(cold: false), run(cold: true)])],
                                         models: [("m", [0], 1)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        #expect(try client.response().status == 200)
        // The backend idles 50 ms (the gap under test, not a wait for anything), then its
        // next request meets it cold.
        usleep(50_000)
        client.post(body: ProxyTestServer.chat())
        #expect(try client.response().status == 200)
        #expect(eventually { server.plan.routing.runtimes[0].inFlight == 0 })
        let coldAfter = server.plan.routing.runtimes[0].snapshot().cold.coldAfterMs
        #expect(coldAfter >= 50 && coldAfter < 10_000, "cold after \(coldAfter) ms")
    }
}
