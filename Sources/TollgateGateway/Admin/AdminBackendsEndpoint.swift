// SPDX-License-Identifier: Apache-2.0
// `GET /admin/backends` (admin key): every backend's BackendStatus as
// `{"object":"list","now_unix_ms":…,"data":[{…}]}` with snake_case keys. Built as a JSONValue
// and serialized by Core's writer, so any backend or model name — quotes, backslashes, control
// characters, non-ASCII — comes out as a valid JSON string (RFC 8259 §7), and a figure JSON
// cannot write (NaN, ±∞, RFC 8259 §6) comes out as null. Not a hot path: an operator's request.
import TollgateCore

enum AdminBackendsEndpoint {
    /// The reply body for `rows` (in the order given: the config's) as of `nowUnixMs`.
    static func render(_ rows: [BackendStatus], nowUnixMs: Int64) -> [UInt8] {
        let data = rows.map { object($0, nowUnixMs: nowUnixMs) }
        let document: JSONValue = .object(JSONObject([
            ("object", "list"),
            ("now_unix_ms", JSONValue(integer: nowUnixMs)),
            ("data", .array(data)),
        ]))
        return document.serialized
    }

    private static func object(_ row: BackendStatus, nowUnixMs: Int64) -> JSONValue {
        let circuit = JSONObject([
            ("state", .string(row.circuit.state)),
            ("consecutive_failures", integer(row.circuit.consecutiveFailures)),
            ("open_for_ms", row.circuit.openForMs.map(JSONValue.init(integer:)) ?? .null),
            ("next_cooldown_ms", JSONValue(integer: row.circuit.nextCooldownMs)),
        ])
        let probe: JSONValue = row.probe.map { probe in
            .object(JSONObject([
                ("target", .string(probe.target)),
                ("verdict", .string(probe.verdict)),
                ("ago_ms", probe.agoMs.map(JSONValue.init(integer:)) ?? .null),
            ]))
        } ?? .null
        let idle: JSONValue = row.idle.map { idle in
            .object(JSONObject([
                ("state", .string(idle.state)),
                ("after_ms", JSONValue(integer: idle.after)),
                ("pauses", integer(idle.pauses)),
                ("wakes", integer(idle.wakes)),
                ("saved_usd", dollars(idle.savedUSD)),
            ]))
        } ?? .null
        let expectedRun = row.expectedRun.map { run in
            JSONValue.object(JSONObject([("model", .string(run.model)), ("ms", JSONValue(integer: run.ms))]))
        }
        let decisions = row.lastDecisions.map { decision(_: $0, nowUnixMs: nowUnixMs) }
        return .object(JSONObject([
            ("name", .string(row.name)),
            ("kind", .string(row.kind)),
            ("billing", row.billing.map(JSONValue.string) ?? .null),
            ("state", .string(row.state)),
            ("eligible", .bool(row.eligible)),
            ("in_flight", integer(row.inFlight)),
            ("max_concurrency", integer(row.maxConcurrency)),
            ("expected_run", .array(expectedRun)),
            ("p_cold", number(row.pCold)),
            ("cold_after_ms", JSONValue(integer: row.coldAfterMs)),
            ("circuit", .object(circuit)),
            ("reason", row.reason.map(JSONValue.string) ?? .null),
            ("probe", probe),
            ("idle", idle),
            ("last_decisions", .array(decisions)),
        ]))
    }

    private static func decision(_ record: RoutingDecisionRecord, nowUnixMs: Int64) -> JSONValue {
        // A wall clock stepped back makes "ago" negative: shown as 0, and never an overflow trap.
        let (ago, overflow) = nowUnixMs.subtractingReportingOverflow(record.atUnixMs)
        return .object(JSONObject([
            ("at_unix_ms", JSONValue(integer: record.atUnixMs)),
            ("ago_ms", JSONValue(integer: overflow ? 0 : max(0, ago))),
            ("model", .string(record.model)),
            ("picked", .bool(record.picked)),
            ("expected_cost_usd", dollars(record.expectedCostUSD)),
            ("expected_latency_ms", JSONValue(integer: record.expectedLatencyMs)),
            ("p_cold", number(record.pCold)),
            ("in_flight", integer(record.inFlight)),
            ("skip", record.skip.map(JSONValue.string) ?? .null),
        ]))
    }

    private static func integer(_ value: Int) -> JSONValue {
        JSONValue(integer: Int64(value))
    }

    /// A finite Double as a JSON number, else null.
    private static func number(_ value: Double) -> JSONValue {
        JSONValue(double: value) ?? .null
    }

    /// Dollars to the micro-dollar, the ledgers' unit, in plain decimals ("0.000012", not
    /// "1.2e-05"); beyond what micro-dollars in an Int64 hold (or not finite), `number`.
    static func dollars(_ value: Double) -> JSONValue {
        let micros = (value * 1_000_000).rounded()
        guard micros.isFinite, abs(micros) < 9e18 else { return number(value) }
        let text = FixedPointText.format(Int64(micros), places: 6, trimmingZeros: true)
        return JSONValue.isNumberLiteral(text) ? .number(text) : number(value)
    }
}
