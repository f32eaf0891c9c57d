// SPDX-License-Identifier: Apache-2.0
// The loop's responder, in SPEC §3's order of checks: framing (done by the HTTP layer) → path
// (404/405) → key (401, body unread, connection closed) → model (404/403) → body (400/415).
// Every finished exchange becomes one usage record for the sink.
import CLinux
import TollgateBackends
import TollgateLimits
import TollgateConfig
import TollgateHTTP
import TollgateIO
import TollgateUpstream
import TollgateCore
import TollgateMetering

final class GatewayResponder: HTTPResponder {
    private let loop: EventLoop
    private let state: GatewayState
    private let routes: RouteTable
    private let sink: any UsageSink
    /// `server.max_buffered`, shared by every loop.
    private let bodyBudget: RequestBodyBudget
    /// GET /metrics (nil: 404, a responder tested on its own).
    private let metricsEndpoint: MetricsEndpoint?
    /// `/v1/usage` and `/admin/usage`.
    private let usage: UsageEndpoint
    /// `requests_per_minute` and `concurrent`, one table for every loop.
    private let rateLimiter: RateLimiter
    /// The exchanges of this loop holding a concurrency slot, with their user (released when
    /// the exchange ends, whatever ended it).
    private var slots: [ObjectIdentifier: String] = [:]
    /// `POST /admin/reload` (nil: a gateway nobody reloads, e.g. a responder tested on its own: 503).
    private let reload: AdminReloadEndpoint?
    let context: GatewayLoopContext

    /// - Parameter metrics: this loop's counters, also among `sink`'s sinks (a new one when nil).
    init(loop: EventLoop, state: GatewayState, routes: RouteTable, plan: GatewayPlan, sink: any UsageSink,
         bodyBudget: RequestBodyBudget, curlShare: CurlShare, metrics: LoopMetrics? = nil,
         metricsEndpoint: MetricsEndpoint? = nil, usageReader: UsageReader? = nil,
         rateLimiter: RateLimiter = RateLimiter(), reloadRequests: ReloadRequests? = nil,
         loopCount: Int = 1, operatorLog: @escaping (String) -> Void = { _ in }) {
        self.rateLimiter = rateLimiter
        self.reload = reloadRequests.map { AdminReloadEndpoint(requests: $0, loop: loop) }
        self.bodyBudget = bodyBudget
        self.usage = UsageEndpoint(reader: usageReader, loop: loop)
        self.loop = loop
        self.state = state
        self.routes = routes
        self.sink = sink
        self.metricsEndpoint = metricsEndpoint
        self.context = GatewayLoopContext(loop: loop, plan: plan, curlShare: curlShare,
                                          metrics: metrics ?? LoopMetrics(plan: plan.metricsPlan),
                                          loopCount: loopCount, operatorLog: operatorLog)
    }

    func respond(to exchange: HTTPExchange) {
        switch routes.match(exchange.head) {
        case .notFound:
            Self.notFound(exchange)
        case .methodNotAllowed(let allow):
            Self.methodNotAllowed(exchange, allow: allow)
        case .found(let route):
            serve(route, exchange)
        }
    }

    private static func notFound(_ exchange: HTTPExchange) {
        exchange.respondError(status: 404, message: "No route for \(exchange.head.path).", code: "not_found")
    }

    private static func methodNotAllowed(_ exchange: HTTPExchange, allow: String) {
        var headers = HTTPHeaders()
        headers.add("allow", allow)
        exchange.respondError(status: 405, message: "Method \(exchange.head.method) is not allowed on \(exchange.head.path).",
                              code: "method_not_allowed", headers: headers)
    }

    private func serve(_ route: Route, _ exchange: HTTPExchange) {
        switch route {
        case .healthz:
            exchange.respond(status: 200, body: StaticBodies.ok)
        case .readyz:
            if state.isReady {
                exchange.respond(status: 200, body: StaticBodies.ready)
            } else {
                exchange.respond(status: 503, body: state.isDraining ? StaticBodies.draining : StaticBodies.notReady)
            }
        case .models:
            guard let caller = authenticate(exchange) else { return }
            let entries = context.runtime.plan.models.filter { caller.user.mayUse($0.name) }.map {
                "{\"id\":\(JSONText.quoted($0.name)),\"object\":\"model\",\"created\":0,\"owned_by\":\"tollgate\"}"
            }
            exchange.context = CallerInfo(user: caller.user.name, keyID: caller.keyID)
            exchange.respond(status: 200, body: "{\"object\":\"list\",\"data\":[\(entries.joined(separator: ","))]}")
        case .metrics:
            guard let metricsEndpoint else {
                exchange.respondError(status: 404, message: "No route for \(exchange.head.path).", code: "not_found")
                return
            }
            if context.runtime.plan.metricsProtected { guard authorizeAdmin(exchange) else { return } }
            metricsEndpoint.scrape(exchange, plan: context.runtime.plan)
        case .usage:
            guard let caller = authenticate(exchange) else { return }
            exchange.context = CallerInfo(user: caller.user.name, keyID: caller.keyID)
            usage.serveCaller(exchange, user: caller.user.name, quota: context.quota)
        case .admin(let admin):
            // The key first, then path and method: without the admin key every /admin path
            // answers alike, so which ones exist cannot be probed.
            guard authorizeAdmin(exchange) else { return }
            switch admin {
            case .usage:
                usage.serveAdmin(exchange)
            case .backends:
                let rows = BackendStatusReport.rows(context.runtime.plan, nowNs: loop.now)
                let body = AdminBackendsEndpoint.render(rows, nowUnixMs: Gateway.wallClockMs())
                body.withUnsafeBytes { exchange.respond(status: 200, body: $0) }
            case .reload:
                guard let reload else {
                    exchange.respondError(status: 503, message: "This gateway cannot reload its config.", code: "reload_unavailable")
                    return
                }
                reload.serve(exchange)
            case .notFound:
                Self.notFound(exchange)
            case .methodNotAllowed(let allow):
                Self.methodNotAllowed(exchange, allow: allow)
            }
        case .api(let operation, let runTarget):
            guard let caller = authenticate(exchange) else { return }
            guard admit(caller, exchange) else { return }
            // Fail closed (SPEC §4): a quota cannot be kept while its usage cannot be logged.
            if caller.user.hasQuota && !state.isMetering {
                exchange.context = CallerInfo(user: caller.user.name, keyID: caller.keyID)
                exchange.respondError(status: 503, message: "Usage metering is unavailable, so quotas cannot be enforced; retry shortly.",
                                      code: "quota_unavailable")
                return
            }
            let proxy = ProxyExchange(exchange: exchange, context: context.runtime, operation: operation, runTarget: runTarget,
                                      user: caller.user, keyID: caller.keyID, budget: bodyBudget)
            exchange.context = proxy
            proxy.start()
        }
    }

    /// `requests_per_minute` and `concurrent` (SPEC §3: 429 naming the limit), decided from the
    /// head alone so a refused request's body is never read. True when admitted; a slot taken
    /// is released in `exchangeEnded`.
    private func admit(_ caller: Caller, _ exchange: HTTPExchange) -> Bool {
        let limits = caller.user.rateLimits
        if limits.isUnlimited { return true }
        let admission = rateLimiter.admit(user: caller.user.name, limits: limits, now: loop.now)
        exchange.extraHeaders = RateLimitReply.headers(admission)
        if admission.isAdmitted {
            if admission.holdsSlot { slots[ObjectIdentifier(exchange)] = caller.user.name }
            return true
        }
        exchange.context = CallerInfo(user: caller.user.name, keyID: caller.keyID, error: "rate_limit_exceeded")
        RateLimitReply.refuse(exchange, admission, user: caller.user.name)
        return false
    }

    /// Bearer key → user. A rejected key's body is never read and the connection closes
    /// (a CL.0 desync cannot ride on an early 401; reliability-anchors §2).
    private func authenticate(_ exchange: HTTPExchange) -> Caller? {
        let plan = context.runtime.plan
        // A keep-alive client repeats the header it sent before: verified once per connection
        // and plan (a reload re-checks it), compared in constant time like the digest.
        if let known = exchange.connectionContext as? VerifiedCredential, known.plan === plan,
           known.matches(exchange.head) {
            return known.caller
        }
        let header = exchange.head.authorization
        guard let key = bearerKey(header, exchange), let header else { return nil }
        guard let caller = plan.authenticate(key: key) else {
            exchange.respondError(status: 401, message: "Incorrect API key provided.", code: "invalid_api_key", close: true)
            return nil
        }
        exchange.connectionContext = VerifiedCredential(header: Array(header.utf8), plan: plan, caller: caller)
        return caller
    }

    /// The admin key's check for `/admin/*` and a protected `/metrics`: true for the admin key;
    /// otherwise the exchange is answered here — 404 when no admin key is configured (the admin
    /// API is off, SPEC §2), 401 without a key or with an unknown one, 403 with a user's key.
    /// Never cached per connection: admin calls are rare and each one proves itself.
    func authorizeAdmin(_ exchange: HTTPExchange) -> Bool {
        let keys = context.runtime.plan.keyTable
        guard keys.hasAdminKey else {
            exchange.respondError(status: 404, message: "No route for \(exchange.head.path): the admin API is off (set admin.key).",
                                  code: "not_found")
            return false
        }
        guard let key = bearerKey(exchange.head.authorization, exchange) else { return false }
        switch keys.classify(key: key) {
        case .admin:
            return true
        case .user:
            exchange.respondError(status: 403, message: "This route needs the admin key; a user's key cannot call it.",
                                  code: "admin_key_required", type: "permission_error")
            return false
        case .unknown:
            exchange.respondError(status: 401, message: "Incorrect API key provided.", code: "invalid_api_key", close: true)
            return false
        }
    }

    /// The key of an `Authorization: Bearer <key>` value; no header, or any other form, is
    /// answered with 401 here (nil).
    private func bearerKey(_ header: String?, _ exchange: HTTPExchange) -> String? {
        guard let header else {
            exchange.respondError(status: 401, message: "Missing API key: send Authorization: Bearer <key>.",
                                  code: "missing_api_key", close: true)
            return nil
        }
        var key = Substring(header)
        if key.count > 7, key.prefix(7).lowercased() == "bearer " { key = key.dropFirst(7) } else {
            exchange.respondError(status: 401, message: "Authorization must use the Bearer scheme.",
                                  code: "invalid_api_key", close: true)
            return nil
        }
        while key.first == " " { key = key.dropFirst() }
        return String(key)
    }

    func exchangeEnded(_ exchange: HTTPExchange) {
        if !slots.isEmpty, let user = slots.removeValue(forKey: ObjectIdentifier(exchange)) {
            rateLimiter.release(user: user)
        }
        let end = exchange.endTime == 0 ? loop.now : exchange.endTime
        let proxy = exchange.context as? ProxyExchange
        // A proxied request's path is its route's, byte for byte (RouteTable matched it
        // exactly): the literal, not a new String from the head.
        var record = UsageRecord(
            id: exchange.id, clientRequestID: exchange.head.requestID,
            timestamp: Double(exchange.startWallTime) / 1e9,
            method: exchange.head.method.description, path: proxy?.path ?? exchange.head.path,
            status: exchange.status == 0 ? 499 : exchange.status,
            latencyMs: Double(end &- exchange.startTime) / 1e6,
            bytesIn: exchange.bodyBytesIn, bytesOut: exchange.bytesOut)
        let trusted = context.runtime.plan.trustedProxies
        let client = ClientAddress.resolve(
            peer: exchange.peer, forwardedFor: trusted.isEmpty ? nil : exchange.head.combinedValue(of: "x-forwarded-for"),
            trusted: trusted)
        // The peer's text is formatted once per connection by the HTTP layer.
        record.clientAddress = client == exchange.peer ? exchange.peerText : client.description
        if exchange.isResponseStarted { record.ttfbMs = Double(exchange.firstByteTime &- exchange.startTime) / 1e6 }
        if let proxy {
            proxy.exchangeEnded(record: &record)
        } else if let caller = exchange.context as? CallerInfo {
            record.user = caller.user
            record.keyID = caller.keyID
            record.error = caller.error
        }
        if exchange.isAborted && record.error == nil { record.error = "client_closed" }
        if record.error == nil && record.status >= 400 { record.error = "http_\(record.status)" }
        sink.record(record)
    }

    func requestRejected(status: Int, message: String, id: RequestID, peer: IPAddress, loop: EventLoop) {
        var record = UsageRecord(id: id, clientRequestID: nil, timestamp: Double(tg_realtime_ns()) / 1e9,
                                 method: "-", path: "-", status: status, latencyMs: 0, bytesIn: 0, bytesOut: 0)
        record.error = message
        // Nothing of the head can be believed here (no X-Forwarded-For): the peer as seen.
        record.clientAddress = peer.description
        sink.record(record)
    }
}

/// The Authorization header a connection already proved, with the plan that accepted it.
final class VerifiedCredential {
    let header: [UInt8]
    let plan: GatewayPlan
    let caller: Caller
    init(header: [UInt8], plan: GatewayPlan, caller: Caller) {
        self.header = header
        self.plan = plan
        self.caller = caller
    }

    /// Whether `head` carries the very same Authorization value (constant time).
    func matches(_ head: HTTPRequestHead) -> Bool {
        head.withAuthorizationBytes { value in
            guard let value else { return false }
            return header.withUnsafeBytes { ConstantTime.equals(value, $0) }
        }
    }
}

/// Who called a non-proxy route, for its log line.
final class CallerInfo {
    let user: String
    let keyID: String
    /// The row's `error` when the gateway refused the request itself (e.g. a rate limit).
    let error: String?
    init(user: String, keyID: String, error: String? = nil) {
        self.user = user
        self.keyID = keyID
        self.error = error
    }
}

/// Fixed response bodies.
enum StaticBodies {
    static let ok: String = #"{"status":"ok"}"#
    static let ready: String = #"{"status":"ready"}"#
    static let notReady: String = #"{"status":"not_ready"}"#
    static let draining: String = #"{"status":"draining"}"#
}
