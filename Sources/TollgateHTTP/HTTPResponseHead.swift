// SPDX-License-Identifier: Apache-2.0
// What a response head says, decided before a byte is written: the status, how the body is
// delimited (RFC 9112 §6), whether the connection stays open, and the request id it carries.
// `HTTPResponseEncoder` writes it; the responder's answers and the server's own error answers
// are described the same way.
import TollgateCore

/// How a response body is delimited on the wire.
enum HTTPResponseFraming: Equatable {
    /// No body: the answer to a HEAD request, or 204 / 304 (RFC 9110 §9.3.2, §15.3.5, §15.4.5).
    case none
    /// `content-length`: exactly the declared bytes follow.
    case length
    /// `transfer-encoding: chunked` (RFC 9112 §7.1), for an HTTP/1.1 client.
    case chunked
    /// Ended by closing the connection: a streamed body to an HTTP/1.0 client, which knows no
    /// chunked coding (RFC 9112 §6.3 item 8).
    case closeDelimited
}

struct HTTPResponseHead {
    var status: Int
    var contentType: String?
    /// The declared body length; nil for a streamed body.
    var length: Int?
    /// The request's minor version: 0 for an HTTP/1.0 client.
    var minorVersion: Int
    /// The request was HEAD: the head describes a body that is not sent.
    var isHEAD: Bool
    /// Whether the connection stays open after this response (else `connection: close`).
    var keepAlive: Bool
    /// The id `x-request-id` carries, unless `echoing` holds the client's own.
    var requestID: RequestID
    /// The request whose `x-request-id` is echoed, when it is short and plainly printable (the
    /// connection hands the encoder the bytes instead: see `HTTPResponseEncoder.writeHead`).
    var echoing: HTTPRequestHead?
    /// The responder's own fields, written after the server's.
    var headers: HTTPHeaders

    init(status: Int, contentType: String?, length: Int?, minorVersion: Int = 1, isHEAD: Bool = false,
         keepAlive: Bool, requestID: RequestID, echoing: HTTPRequestHead? = nil, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.contentType = contentType
        self.length = length
        self.minorVersion = minorVersion
        self.isHEAD = isHEAD
        self.keepAlive = keepAlive
        self.requestID = requestID
        self.echoing = echoing
        self.headers = headers
    }

    /// How the body that follows this head is delimited.
    var framing: HTTPResponseFraming {
        Self.framing(status: status, length: length, minorVersion: minorVersion, isHEAD: isHEAD)
    }

    static func framing(status: Int, length: Int?, minorVersion: Int, isHEAD: Bool) -> HTTPResponseFraming {
        if isHEAD || status == 204 || status == 304 { return .none }
        if length != nil { return .length }
        return minorVersion >= 1 ? .chunked : .closeDelimited
    }
}
