// SPDX-License-Identifier: Apache-2.0
// `GET /admin/backends`' body: rendered from BackendStatus values and parsed back with Core's
// JSON parser — valid JSON for any name (quotes, backslashes, control characters, non-ASCII),
// snake_case keys, null for what is absent or not a finite number.
import Testing
import TollgateCore
@testable import TollgateGateway

@Suite struct AdminBackendsEndpointTests {
    static let now: Int64 = 1_773_532_800_000
    static let nasty = "a\"b\\c\n\r\t\u{0}\u{1}\u{1F}\u{7F}é🙂</script>"

    static func decision(at: Int64, picked: Bool, skip: String? = nil) -> RoutingDecisionRecord {
        RoutingDecisionRecord(atUnixMs: at, model: nasty, picked: picked, expectedCostUSD: 0.000012,
                              expectedLatencyMs: 1_250, pCold: 0.25, inFlight: 3, skip: skip)
    }

    static let full = BackendStatus(
        name: nasty, kind: "space", billing: "per_second", state: "paused", eligible: true,
        inFlight: 2, maxConcurrency: 4,
        expectedRun: [.init(model: nasty, ms: 1_200), .init(model: "whisper", ms: 300)],
        pCold: 0.5, coldAfterMs: 300_000,
        circuit: .init(state: "open", consecutiveFailures: 3, openForMs: 1_500, nextCooldownMs: 60_000),
        reason: "probe: \(nasty)",
        probe: .init(target: "hub runtime of \(nasty)", verdict: "down: \(nasty)", agoMs: 250),
        idle: .init(state: "paused", after: 600_000, pauses: 2, wakes: 1, savedUSD: 1.2345678),
        lastDecisions: [decision(at: now - 5_000, picked: false, skip: "full 4/4 \(nasty)"),
                        decision(at: now + 10, picked: true)])

    static let plain = BackendStatus(
        name: "box", kind: "openai", state: "up", eligible: true, inFlight: 0, maxConcurrency: 1,
        pCold: .nan,
        circuit: .init(state: "closed", consecutiveFailures: 0, openForMs: nil, nextCooldownMs: 30_000))

    private func parsed(_ rows: [BackendStatus]) throws -> JSONValue {
        try JSONValue.parse(AdminBackendsEndpoint.render(rows, nowUnixMs: Self.now))
    }

    @Test func aListInConfigOrder() throws {
        let doc = try parsed([Self.full, Self.plain])
        #expect(doc["object"] == "list")
        #expect(doc["now_unix_ms"]?.int64Value == Self.now)
        #expect(doc["data"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == [Self.nasty, "box"])
        #expect(try parsed([]) == ["object": "list", "now_unix_ms": JSONValue(integer: Self.now), "data": []])
    }

    @Test func everyFieldRoundTripsWhateverTheNames() throws {
        let row = try #require(try parsed([Self.full])["data"]?[0])
        #expect(row["kind"] == "space")
        #expect(row["billing"] == "per_second")
        #expect(row["state"] == "paused")
        #expect(row["eligible"] == true)
        #expect(row["in_flight"]?.int64Value == 2)
        #expect(row["max_concurrency"]?.int64Value == 4)
        #expect(row["expected_run"] == [["model": .string(Self.nasty), "ms": 1_200], ["model": "whisper", "ms": 300]])
        #expect(row["p_cold"]?.doubleValue == 0.5)
        #expect(row["cold_after_ms"]?.int64Value == 300_000)
        #expect(row["circuit"] == ["state": "open", "consecutive_failures": 3, "open_for_ms": 1_500, "next_cooldown_ms": 60_000])
        #expect(row["reason"]?.stringValue == "probe: \(Self.nasty)")
        #expect(row["probe"] == ["target": .string("hub runtime of \(Self.nasty)"), "verdict": .string("down: \(Self.nasty)"),
                                 "ago_ms": 250])
        // Dollars to the micro-dollar, as plain decimals.
        #expect(row["idle"] == ["state": "paused", "after_ms": 600_000, "pauses": 2, "wakes": 1, "saved_usd": .number("1.234568")])
        let decisions = try #require(row["last_decisions"]?.arrayValue)
        #expect(decisions.count == 2)
        #expect(decisions[0] == ["at_unix_ms": JSONValue(integer: Self.now - 5_000), "ago_ms": 5_000, "model": .string(Self.nasty),
                                 "picked": false, "expected_cost_usd": .number("0.000012"), "expected_latency_ms": 1_250,
                                 "p_cold": .number("0.25"), "in_flight": 3, "skip": .string("full 4/4 \(Self.nasty)")])
        // A decision "in the future" (the wall clock stepped back) is 0 ms ago; skip null when pickable.
        #expect(decisions[1]["ago_ms"] == 0)
        #expect(decisions[1]["picked"] == true)
        #expect(decisions[1]["skip"] == .null)
    }

    @Test func absentPartsAreNull() throws {
        let row = try #require(try parsed([Self.plain])["data"]?[0])
        #expect(row["billing"] == .null)
        #expect(row["reason"] == .null)
        #expect(row["probe"] == .null)
        #expect(row["idle"] == .null)
        #expect(row["p_cold"] == .null)  // NaN has no JSON form
        #expect(row["circuit"]?["open_for_ms"] == .null)
        #expect(row["expected_run"] == [])
        #expect(row["last_decisions"] == [])
    }

    @Test func extremeFiguresStayValidJSON() throws {
        var row = Self.plain
        row.idle = .init(state: "active", after: .max, pauses: .max, wakes: .min, savedUSD: .infinity)
        row.lastDecisions = [RoutingDecisionRecord(atUnixMs: .min, model: "", picked: false, expectedCostUSD: 1e300,
                                                   expectedLatencyMs: .max, pCold: -.infinity, inFlight: .min)]
        let doc = try JSONValue.parse(AdminBackendsEndpoint.render([row], nowUnixMs: .max))
        let rendered = try #require(doc["data"]?[0])
        #expect(rendered["idle"]?["saved_usd"] == .null)
        #expect(rendered["idle"]?["after_ms"]?.int64Value == .max)
        #expect(rendered["idle"]?["wakes"]?.int64Value == .min)
        let decision = try #require(rendered["last_decisions"]?[0])
        #expect(decision["ago_ms"] == 0)  // .max - .min overflows: shown as 0, no trap
        #expect(decision["expected_cost_usd"]?.doubleValue == 1e300)
        #expect(decision["p_cold"] == .null)
    }

    @Test func dollarsArePlainDecimals() {
        #expect(AdminBackendsEndpoint.dollars(0) == .number("0"))
        #expect(AdminBackendsEndpoint.dollars(0.0000004) == .number("0"))
        #expect(AdminBackendsEndpoint.dollars(2.5) == .number("2.5"))
        #expect(AdminBackendsEndpoint.dollars(-0.25) == .number("-0.25"))
        #expect(AdminBackendsEndpoint.dollars(.nan) == .null)
    }
}
