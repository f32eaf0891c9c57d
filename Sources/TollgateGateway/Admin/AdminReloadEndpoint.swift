// SPDX-License-Identifier: Apache-2.0
// `POST /admin/reload` (admin key, proved by the responder): the same reload as SIGHUP. The loop
// only queues the request (ReloadRequests); the signal thread reads the file and builds the
// plan, and the answer is written on this loop once every loop runs the new plan:
// 200 with the new config's counts, or 400 `invalid_config` with its `FILE:LINE:` errors while
// the running config keeps serving. The reply carries counts and diagnostics, never a key.
import TollgateHTTP
import TollgateIO
import TollgateCore

struct AdminReloadEndpoint {
    let requests: ReloadRequests
    let loop: EventLoop

    func serve(_ exchange: HTTPExchange) {
        let submitted = requests.submit(on: loop) { outcome in
            let (status, body) = Self.reply(outcome)
            exchange.respond(status: status, body: body)
        }
        switch submitted {
        case .success:
            break
        case .failure(.busy):
            var headers = HTTPHeaders()
            headers.add("retry-after", "1")
            exchange.respondError(status: 503, message: "Too many reloads are waiting; retry shortly.",
                                  code: "server_busy", headers: headers)
        case .failure(.closed(let reason)):
            let (status, body) = Self.reply(.unavailable(reason: reason))
            exchange.respond(status: status, body: body)
        }
    }

    /// The status and JSON body for `outcome`.
    static func reply(_ outcome: ReloadOutcome) -> (Int, String) {
        switch outcome {
        case .reloaded(let s):
            let warnings = s.warnings.map(JSONText.quoted).joined(separator: ",")
            return (200, "{\"object\":\"config.reload\",\"status\":\"reloaded\",\"config\":\(JSONText.quoted(s.file))"
                + ",\"backends\":\(s.backends),\"models\":\(s.models),\"users\":\(s.users),\"keys\":\(s.keys)"
                + ",\"restart_required\":\(s.restartRequired),\"warnings\":[\(warnings)]}")
        case .invalid(let file, let errors):
            let message = "\(file) has errors; the running config is kept: " + errors.joined(separator: "; ")
            let list = errors.map(JSONText.quoted).joined(separator: ",")
            return (400, "{\"error\":{\"message\":\(JSONText.quoted(message)),\"type\":\"invalid_request_error\""
                + ",\"param\":null,\"code\":\"invalid_config\",\"errors\":[\(list)]}}")
        case .unavailable(let reason):
            return (503, JSONText.errorBody(message: "The config cannot be reloaded now: \(reason).", type: "server_error",
                                            code: "reload_unavailable"))
        }
    }
}
