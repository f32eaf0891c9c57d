// SPDX-License-Identifier: Apache-2.0
// Method + path → route, built once and frozen (Hummingbird's Router → RouterResponder).
// Matching compares bytes of the request path; nothing is allocated per request.
import TollgateBackends
import TollgateHTTP

enum Route: Sendable {
    case healthz
    case readyz
    case models
    case metrics
    /// GET /v1/usage: the caller's own usage.
    case usage
    /// Any path under /admin: the admin key is checked before the path and the method, so the
    /// admin routes cannot be probed without it.
    case admin(AdminRoute)
    /// `run` is the parsed `/v1/run/<model>[/<rest>]` target (nil for the other operations).
    case api(APIOperation, run: RunTarget? = nil)
}

/// An /admin path, once the admin key is proved.
enum AdminRoute: Sendable, Equatable {
    /// GET /admin/usage: everyone's usage.
    case usage
    /// POST /admin/reload: what SIGHUP does.
    case reload
    /// GET /admin/backends: every backend's state and the router's inputs.
    case backends
    case notFound
    case methodNotAllowed(allow: String)
}

enum RouteMatch {
    case found(Route)
    case notFound
    case methodNotAllowed(allow: String)
}

struct RouteTable: Sendable {
    func match(_ head: HTTPRequestHead) -> RouteMatch {
        if head.pathEquals("/healthz") { return getOnly(.healthz, head) }
        if head.pathEquals("/readyz") { return getOnly(.readyz, head) }
        if head.pathEquals("/metrics") { return getOnly(.metrics, head) }
        if head.pathHasPrefix("/v1/") {
            if head.pathEquals("/v1/chat/completions") { return postOnly(.api(.chatCompletions), head) }
            if head.pathEquals("/v1/completions") { return postOnly(.api(.completions), head) }
            if head.pathEquals("/v1/embeddings") { return postOnly(.api(.embeddings), head) }
            if head.pathEquals("/v1/models") { return getOnly(.models, head) }
            if head.pathEquals("/v1/usage") { return getOnly(.usage, head) }
            if head.pathEquals("/v1/images/generations") { return postOnly(.api(.imageGenerations), head) }
            if head.pathEquals("/v1/images/edits") { return postOnly(.api(.imageEdits), head) }
            if head.pathEquals("/v1/audio/transcriptions") { return postOnly(.api(.audioTranscriptions), head) }
            if head.pathEquals("/v1/audio/diarization") { return postOnly(.api(.audioDiarization), head) }
            // `/v1/run/<model>[/<rest>]`: a model segment is required (RunTarget reads it).
            if head.pathHasPrefix("/v1/run/"), let run = RunTarget(head) { return postOnly(.api(.run, run: run), head) }
        }
        if head.pathEquals("/admin") || head.pathHasPrefix("/admin/") { return .found(.admin(admin(head))) }
        return .notFound
    }

    private func admin(_ head: HTTPRequestHead) -> AdminRoute {
        let isGet = head.method == .get || head.method == .head
        if head.pathEquals("/admin/usage") { return isGet ? .usage : .methodNotAllowed(allow: "GET, HEAD") }
        if head.pathEquals("/admin/backends") { return isGet ? .backends : .methodNotAllowed(allow: "GET, HEAD") }
        if head.pathEquals("/admin/reload") { return head.method == .post ? .reload : .methodNotAllowed(allow: "POST") }
        return .notFound
    }

    private func getOnly(_ route: Route, _ head: HTTPRequestHead) -> RouteMatch {
        head.method == .get || head.method == .head ? .found(route) : .methodNotAllowed(allow: "GET, HEAD")
    }

    private func postOnly(_ route: Route, _ head: HTTPRequestHead) -> RouteMatch {
        head.method == .post ? .found(route) : .methodNotAllowed(allow: "POST")
    }
}
