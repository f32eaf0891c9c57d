// SPDX-License-Identifier: Apache-2.0
// Method + path → route, built once and frozen (Hummingbird's Router → RouterResponder).
// Matching compares bytes of the request path; nothing is allocated per request.
import TollgateHTTP

enum Route: Sendable {
    case healthz
    case readyz
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
        return .notFound
    }

    private func getOnly(_ route: Route, _ head: HTTPRequestHead) -> RouteMatch {
        head.method == .get || head.method == .head ? .found(route) : .methodNotAllowed(allow: "GET, HEAD")
    }
}
