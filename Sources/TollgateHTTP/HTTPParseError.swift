// SPDX-License-Identifier: Apache-2.0
// Every way a request can be refused while it is being framed. Each maps to one status; all of
// them close the connection afterwards, because after a framing error we can no longer tell
// where the next request would start (RFC 9112 §6.3, §11.2 on request smuggling).

/// A request the parser refuses, with the status it answers and a message for the client.
public enum HTTPParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 400: malformed syntax or ambiguous framing.
    case badRequest(String)
    /// 408: the head (or a gap in the body) took longer than allowed.
    case timeout(String)
    /// 413: the declared or received body exceeds `server.max_body`.
    case bodyTooLarge(limit: Int)
    /// 414: the request line alone exceeds the limit.
    case uriTooLong(limit: Int)
    /// 417: an `Expect` other than `100-continue`.
    case expectationFailed
    /// 431: the head exceeds `server.max_header` or the header-count limit.
    case headerTooLarge(String)
    /// 501: a method or transfer coding this server does not implement.
    case notImplemented(String)
    /// 505: an HTTP major version other than 1.
    case versionNotSupported

    public var status: Int {
        switch self {
        case .badRequest: return 400
        case .timeout: return 408
        case .bodyTooLarge: return 413
        case .uriTooLong: return 414
        case .expectationFailed: return 417
        case .headerTooLarge: return 431
        case .notImplemented: return 501
        case .versionNotSupported: return 505
        }
    }

    /// The OpenAI-style `error.code` for this refusal.
    public var code: String {
        switch self {
        case .badRequest: return "bad_request"
        case .timeout: return "request_timeout"
        case .bodyTooLarge: return "request_too_large"
        case .uriTooLong: return "uri_too_long"
        case .expectationFailed: return "expectation_failed"
        case .headerTooLarge: return "header_too_large"
        case .notImplemented: return "not_implemented"
        case .versionNotSupported: return "http_version_not_supported"
        }
    }

    public var message: String {
        switch self {
        case .badRequest(let why): return "Bad request: \(why)."
        case .timeout(let why): return "Request timeout: \(why)."
        case .bodyTooLarge(let limit): return "Request body exceeds the limit of \(limit) bytes."
        case .uriTooLong(let limit): return "Request line exceeds the limit of \(limit) bytes."
        case .expectationFailed: return "Only 'Expect: 100-continue' is supported."
        case .headerTooLarge(let why): return "Request header too large: \(why)."
        case .notImplemented(let what): return "Not implemented: \(what)."
        case .versionNotSupported: return "HTTP version not supported; use HTTP/1.1."
        }
    }

    public var description: String { "\(status) \(message)" }
}
