// SPDX-License-Identifier: Apache-2.0
// The call a backend's `idle` policy makes once it has been unused for `after` (SPEC §2 `idle`):
// an hf_space's Hub pause (woken by a restart), or a configured HTTP request for anything else
// (e.g. a pod API's stop) that has no wake call — the backend's next request wakes it.

public enum IdleCall: Sendable, Equatable, CustomStringConvertible {
    /// One configured header. Its value may be a credential: never printed (see `description`).
    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Hub POST /api/spaces/{space}/pause; wake: POST …/restart. Token: the backend's.
    case space(String)
    /// The configured request (`idle.request`): method, URL with its query, headers. Only these
    /// headers (and the gateway's User-Agent) go with it: the backend's own key does not, since
    /// the URL may be on another origin (SPEC §7).
    case http(method: String, url: String, headers: [Header])

    /// Methods `idle.request.method` may name (SPEC §2).
    public static let allowedMethods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    /// Without header values or the URL's query (either may hold a secret).
    public var description: String {
        switch self {
        case .space(let space): return "space \(space)"
        case .http(let method, let url, let headers):
            let bare = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
            return "\(method) \(bare) (\(headers.count) header\(headers.count == 1 ? "" : "s"))"
        }
    }
}
