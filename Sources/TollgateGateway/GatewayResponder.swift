// SPDX-License-Identifier: Apache-2.0
// The loop's responder: matches the route (404/405 first, SPEC §3 "order of checks"), answers
// the built-in routes, and turns every finished exchange into one usage record.
import CLinux
import TollgateHTTP
import TollgateIO

final class GatewayResponder: HTTPResponder {
    private let loop: EventLoop
    private let state: GatewayState
    private let routes: RouteTable
    private let sink: any UsageSink

    init(loop: EventLoop, state: GatewayState, routes: RouteTable, sink: any UsageSink) {
        self.loop = loop
        self.state = state
        self.routes = routes
        self.sink = sink
    }

    func respond(to exchange: HTTPExchange) {
        switch routes.match(exchange.head) {
        case .notFound:
            exchange.respondError(status: 404, message: "No route for \(exchange.head.path).", code: "not_found")
        case .methodNotAllowed(let allow):
            var headers = HTTPHeaders()
            headers.add("allow", allow)
            exchange.respondError(status: 405, message: "Method \(exchange.head.method) is not allowed on \(exchange.head.path).",
                                  code: "method_not_allowed", headers: headers)
        case .found(let route):
            serve(route, exchange)
        }
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
        }
    }

    func exchangeEnded(_ exchange: HTTPExchange) {
        let end = exchange.endTime == 0 ? loop.now : exchange.endTime
        var record = UsageRecord(
            id: exchange.id, clientRequestID: exchange.head.requestID,
            timestamp: Double(exchange.startWallTime) / 1e9,
            method: exchange.head.method.description, path: exchange.head.path,
            status: exchange.status == 0 ? 499 : exchange.status,
            latencyMs: Double(end &- exchange.startTime) / 1e6,
            bytesIn: exchange.bodyBytesIn, bytesOut: exchange.bytesOut)
        if exchange.isAborted && record.error == nil { record.error = "client_closed" }
        sink.record(record)
    }

    func requestRejected(status: Int, message: String, id: RequestID, loop: EventLoop) {
        var record = UsageRecord(id: id, clientRequestID: nil, timestamp: Double(tg_realtime_ns()) / 1e9,
                                 method: "-", path: "-", status: status, latencyMs: 0, bytesIn: 0, bytesOut: 0)
        record.error = message
        sink.record(record)
    }
}

/// Fixed response bodies, built once.
enum StaticBodies {
    static let ok: String = #"{"status":"ok"}"#
    static let ready: String = #"{"status":"ready"}"#
    static let notReady: String = #"{"status":"not_ready"}"#
    static let draining: String = #"{"status":"draining"}"#
}
