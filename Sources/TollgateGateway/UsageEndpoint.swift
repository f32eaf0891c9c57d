// SPDX-License-Identifier: Apache-2.0
// `GET /v1/usage` (the caller's own usage: today and this UTC month, per model) and
// `GET /admin/usage?user=&since=&until=` (every user's, or one user's, per user and model,
// with totals). Both are read by the UsageReader on its own thread; the exchange waits, and the
// answer is written on this loop when it comes back. A full reader queue is 503 at once.
// Periods are whole UTC days of the daily rollups (UsagePeriod); the answer names the days.
import CLinux
import TollgateHTTP
import TollgateIO
import TollgateCore
import TollgateMetering
import TollgateLimits

struct UsageEndpoint {
    /// nil: no usage log (a gateway built without one, e.g. in unit tests): 503.
    let reader: UsageReader?
    let loop: EventLoop

    // MARK: - GET /v1/usage

    /// The caller's own figures; the route takes no parameters (there is no way to name
    /// another user here).
    func serveCaller(_ exchange: HTTPExchange, user: String, quota: QuotaLedger) {
        if let query = exchange.head.query, !query.isEmpty {
            let name = String(query.prefix { $0 != "=" && $0 != "&" })
            Self.badParameter(exchange, name, "GET /v1/usage reports the caller's own usage and takes no parameters.")
            return
        }
        let now = Self.nowSeconds
        let today = UsagePeriod.dayText(unixSeconds: now)
        let monthStart = UsagePeriod.monthStart(unixSeconds: now)
        // The ledger's figures as of the request (the rows below come from the log a moment
        // later and leave out requests still running, which the ledger holds as reserved).
        let remaining = Self.quota(quota.row(.userGPU(user)), unit: { MilliGPUSeconds($0).secondsText })
        let spend = Self.quota(quota.row(.userSpend(user)), unit: { MicroDollars($0).description })
        let quotaJSON = ",\"quota\":{\"gpu_seconds_per_day\":\(remaining),\"usd_per_month\":\(spend)}"
        submit(.caller(user: user, today: today, monthStart: monthStart), exchange) { answer in
            guard case .caller(let todayRows, let monthRows) = answer else { return nil }
            return "{\"object\":\"usage\",\"user\":\(JSONText.quoted(user))"
                + ",\"today\":{\"from\":\"\(today)\",\"to\":\"\(today)\"," + Self.period(todayRows) + "}"
                + ",\"month\":{\"from\":\"\(monthStart)\",\"to\":\"\(today)\"," + Self.period(monthRows) + "}"
                + quotaJSON + "}"
        }
    }

    /// One quota of the caller (SPEC §3: "remaining quota this period"): its limit, what is
    /// spent, held by requests running, and remaining, in the limit's unit, and when the period
    /// ends; `null` when the caller has no such limit.
    private static func quota(_ row: QuotaLedger.Row?, unit: (Int64) -> String) -> String {
        guard let row else { return "null" }
        return "{\"limit\":\(unit(row.cap)),\"used\":\(unit(row.spent)),\"reserved\":\(unit(row.reserved))"
            + ",\"remaining\":\(unit(row.remaining)),\"resets_at\":\"\(CivilDate.dateTimeText(unixSeconds: row.period.end))Z\"}"
    }

    /// `"requests":…,…,"models":[…]` of one period.
    private static func period(_ rows: [UsageRow]) -> String {
        var total = UsageFigures()
        for row in rows { total += row.figures }
        let models = rows.map { "{\"model\":\(optional($0.model)),\(figures($0.figures))}" }
        return figures(total) + ",\"models\":[\(models.joined(separator: ","))]"
    }

    // MARK: - GET /admin/usage

    /// The caller already proved the admin key.
    func serveAdmin(_ exchange: HTTPExchange) {
        let now = Self.nowSeconds
        var user: String?
        var since = UsagePeriod.monthStart(unixSeconds: now)
        var until = UsagePeriod.dayText(unixSeconds: now)
        var seen: Set<String> = []
        for pair in (exchange.head.query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.formDecoded(parts[0]), let value = Self.formDecoded(parts.count > 1 ? parts[1] : "") else {
                Self.badParameter(exchange, String(parts[0]), "The query string has a malformed percent-escape.")
                return
            }
            guard ["user", "since", "until"].contains(name) else {
                Self.badParameter(exchange, name, "Unknown parameter `\(name)`; /admin/usage takes user, since and until.")
                return
            }
            guard seen.insert(name).inserted else {
                Self.badParameter(exchange, name, "The parameter `\(name)` is given twice.")
                return
            }
            switch name {
            case "user":
                user = value.isEmpty ? nil : value
            default:
                switch UsagePeriod.day(of: value, nowSeconds: now) {
                case .success(let day):
                    if name == "since" { since = day } else { until = day }
                case .failure(let invalid):
                    Self.badParameter(exchange, name, "Invalid `\(name)`: \(invalid.reason).")
                    return
                }
            }
        }
        guard since <= until else {
            Self.badParameter(exchange, "since", "`since` (\(since)) is after `until` (\(until)).")
            return
        }
        submit(.report(user: user, fromDay: since, toDay: until), exchange) { answer in
            guard case .report(let rows) = answer else { return nil }
            var total = UsageFigures()
            for row in rows { total += row.figures }
            let items = rows.map { "{\"user\":\(Self.optional($0.user)),\"model\":\(Self.optional($0.model)),\(Self.figures($0.figures))}" }
            return "{\"object\":\"usage.report\",\"since\":\"\(since)\",\"until\":\"\(until)\",\"user\":\(Self.optional(user))"
                + ",\"totals\":{\(Self.figures(total))},\"rows\":[\(items.joined(separator: ","))]}"
        }
    }

    // MARK: - Shared

    /// Hands `query` to the reader; `render` turns the answer into the 200's body.
    private func submit(_ query: UsageQuery, _ exchange: HTTPExchange, render: @escaping (UsageAnswer) -> String?) {
        guard let reader else {
            exchange.respondError(status: 503, message: "This gateway has no usage log to read.", code: "usage_unavailable")
            return
        }
        let loop = self.loop
        let taken = reader.submit(query, on: loop) { result in
            switch result {
            case .success(let answer):
                guard let body = render(answer) else {
                    exchange.respondError(status: 500, message: "The usage log gave an answer of the wrong kind.", code: "internal_error")
                    return
                }
                exchange.respond(status: 200, body: body)
            case .failure(.unavailable(let why)):
                exchange.respondError(status: 503, message: "The usage log cannot be read right now: \(why)", code: "usage_unavailable")
            }
        }
        if !taken {
            var headers = HTTPHeaders()
            headers.add("retry-after", "1")
            exchange.respondError(status: 503, message: "Too many usage queries are waiting; retry shortly.",
                                  code: "server_busy", headers: headers)
        }
    }

    private static var nowSeconds: Int64 { Int64(tg_realtime_ns() / 1_000_000_000) }

    /// `"requests":…,"errors":…,"gpu_seconds":…,"cost_usd":…,"prompt_tokens":…,"completion_tokens":…`:
    /// GPU-seconds and dollars written exactly from their integers.
    private static func figures(_ f: UsageFigures) -> String {
        "\"requests\":\(f.requests),\"errors\":\(f.errors),\"gpu_seconds\":\(f.gpu.secondsText),\"cost_usd\":\(f.cost)"
            + ",\"prompt_tokens\":\(f.promptTokens),\"completion_tokens\":\(f.completionTokens)"
    }

    private static func optional(_ text: String?) -> String { text.map(JSONText.quoted) ?? "null" }

    private static func badParameter(_ exchange: HTTPExchange, _ name: String, _ message: String) {
        exchange.respond(status: 400, body: JSONText.errorBody(message: message, type: "invalid_request_error",
                                                               code: "invalid_parameter", param: name))
    }

    /// application/x-www-form-urlencoded: `+` is a space, `%XX` a byte; nil for a malformed
    /// escape or bytes that are not UTF-8.
    static func formDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(0x20)
            case UInt8(ascii: "%"):
                guard let high = utf8.next().flatMap(hexValue), let low = utf8.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
