// SPDX-License-Identifier: Apache-2.0
// The one writer of response bytes: status line, the server's fields, the responder's fields,
// and then the body in the framing the head chose. It serves the responder's answers, the
// interim 100 Continue, the connection's error answers and the server's over-limit 503. It
// appends to a buffer its caller owns, so writing a response allocates nothing of its own.
import TollgateCore

struct HTTPResponseEncoder {
    /// The framing of the response being written (`.none` before the first head).
    private(set) var framing = HTTPResponseFraming.none
    /// Declared body bytes not yet written (`.length` framing).
    private(set) var bodyRemaining = 0

    /// Writes `head` and takes its framing for the body that follows.
    /// - Parameter date: the cached IMF-fixdate (RFC 9110 §6.6.1), or nil to send none.
    /// - Returns: the bytes written.
    @discardableResult
    mutating func writeHead(_ head: HTTPResponseHead, date: [UInt8]?, into output: inout ByteBuffer) -> Int {
        guard let echoing = head.echoing else { return writeHead(head, echo: nil, date: date, into: &output) }
        return echoing.withRequestIDBytes { writeHead(head, echo: $0, date: date, into: &output) }
    }

    /// Writes `head` with `echo`, the client's `x-request-id` value if it sent one (echoed when
    /// it is short and plainly printable), in place of `head.echoing`.
    mutating func writeHead(_ head: HTTPResponseHead, echo: UnsafeRawBufferPointer?, date: [UInt8]?,
                            into output: inout ByteBuffer) -> Int {
        writeHead(status: head.status, contentType: head.contentType, length: head.length, minorVersion: head.minorVersion,
                  isHEAD: head.isHEAD, keepAlive: head.keepAlive, requestID: head.requestID, echo: echo,
                  headers: head.headers, date: date, into: &output)
    }

    /// The same, from the head's parts (the connection's path: no `HTTPResponseHead` is built,
    /// so nothing in it is copied, retained or released).
    mutating func writeHead(status: Int, contentType: String?, length: Int?, minorVersion: Int, isHEAD: Bool,
                            keepAlive: Bool, requestID: RequestID, echo: UnsafeRawBufferPointer?, headers: HTTPHeaders,
                            date: [UInt8]?, into output: inout ByteBuffer) -> Int {
        framing = HTTPResponseHead.framing(status: status, length: length, minorVersion: minorVersion, isHEAD: isHEAD)
        bodyRemaining = length ?? 0
        return Self.write(status: status, contentType: contentType, length: length, minorVersion: minorVersion,
                          keepAlive: keepAlive, requestID: requestID, echo: echo, headers: headers, date: date,
                          into: &output)
    }

    /// Appends body bytes in the current framing. Returns false when none of them belongs on
    /// the wire: the response has no body, or the piece is empty and the body chunked (a
    /// zero-size chunk would end it).
    mutating func writeBody(_ bytes: UnsafeRawBufferPointer, into output: inout ByteBuffer) -> Bool {
        switch framing {
        case .none:
            return false
        case .length:
            output.append(bytes)
            bodyRemaining -= bytes.count
        case .closeDelimited:
            output.append(bytes)
        case .chunked:
            guard !bytes.isEmpty else { return false }
            // RFC 9112 §7.1: chunk-size in hex, CRLF, chunk-data, CRLF.
            output.append(hex: UInt64(bytes.count))
            output.append("\r\n")
            output.append(bytes)
            output.append("\r\n")
        }
        return true
    }

    /// Whether the last byte of a declared-length body has been written.
    var isDeclaredBodyComplete: Bool { framing == .length && bodyRemaining <= 0 }

    /// Ends the body: the last chunk for chunked framing (RFC 9112 §7.1; no trailers).
    /// - Returns: the bytes written.
    mutating func writeEnd(into output: inout ByteBuffer) -> Int {
        guard framing == .chunked else { return 0 }
        output.append("0\r\n\r\n")
        return 5
    }

    /// The interim answer a client that sent `Expect: 100-continue` waits for before it sends
    /// the body (RFC 9110 §10.1.1).
    static func writeContinue(into output: inout ByteBuffer) {
        output.append("HTTP/1.1 100 Continue\r\n\r\n")
    }

    /// A whole OpenAI-shaped JSON error answer after which the connection closes: the server's
    /// own answers to a malformed or timed-out request, or to one connection too many.
    /// - Returns: the bytes written.
    @discardableResult
    static func writeErrorAnswer(status: Int, body: String, requestID: RequestID, date: [UInt8]?,
                                 headers: HTTPHeaders = HTTPHeaders(), into output: inout ByteBuffer) -> Int {
        let head = HTTPResponseHead(status: status, contentType: "application/json", length: body.utf8.count,
                                    keepAlive: false, requestID: requestID, headers: headers)
        let written = write(status: head.status, contentType: head.contentType, length: head.length,
                            minorVersion: head.minorVersion, keepAlive: head.keepAlive, requestID: head.requestID,
                            echo: nil, headers: head.headers, date: date, into: &output)
        output.append(string: body)
        return written + body.utf8.count
    }

    // MARK: - The head

    /// The head is written in one reservation of the buffer (an upper bound of its size) and
    /// then with plain stores (RegionWriter): one bound check and no buffer call per piece.
    private static func write(status: Int, contentType: String?, length: Int?, minorVersion: Int, keepAlive: Bool,
                              requestID: RequestID, echo: UnsafeRawBufferPointer?, headers: HTTPHeaders,
                              date: [UInt8]?, into output: inout ByteBuffer) -> Int {
        // Fixed text and numbers stay under 400 bytes; an echoed id is at most 128. The reason
        // phrase is counted too: an upstream's status passes through, whatever its phrase.
        var bound = 400 + 128 + HTTPStatus.reason(status).utf8CodeUnitCount + (date?.count ?? 0)
            + (contentType?.utf8.count ?? 0)
        for (name, value) in headers.entries { bound += 4 + name.utf8.count + value.utf8.count }
        return output.writeWithUnsafeMutableBytes(minimumWritable: bound) { region -> Int in
            var out = RegionWriter(region)
            out.append("HTTP/1.1 ")
            out.append(decimal: status)
            out.append(" ")
            out.append(HTTPStatus.reason(status))
            if let date {
                out.append("\r\ndate: ")
                date.withUnsafeBytes { out.append($0) }
            }
            if let contentType = contentType {
                out.append("\r\ncontent-type: ")
                out.append(string: contentType)
            }
            // No framing field on a 204 (RFC 9110 §8.6 forbids a length there) nor on a 304; a
            // HEAD answer declares the length a GET would have had (§9.3.2), and no body follows.
            if status != 204 && status != 304 {
                if let length = length {
                    out.append("\r\ncontent-length: ")
                    out.append(decimal: length)
                } else if minorVersion >= 1 {
                    out.append("\r\ntransfer-encoding: chunked")
                }
            }
            out.append("\r\nx-request-id: ")
            if let echo, isEchoableRequestID(echo) { out.append(echo) } else { out.append(requestID: requestID) }
            for (name, value) in headers.entries {
                out.append("\r\n")
                out.append(string: name)
                out.append(": ")
                out.append(string: value)
            }
            if !keepAlive {
                out.append("\r\nconnection: close")
            } else if minorVersion == 0 {
                // HTTP/1.0 closes by default; staying open must be said (RFC 9112 §9.3).
                out.append("\r\nconnection: keep-alive")
            }
            out.append("\r\n\r\n")
            // The bound above is exact; should it ever be short, the writer stopped at the region's
            // end and this head is cut (one broken response, never a write past the buffer).
            return out.count
        }
    }

    /// A client's `x-request-id` is echoed only if it is short and plainly printable.
    static func isEchoableRequestID(_ value: UnsafeRawBufferPointer) -> Bool {
        guard !value.isEmpty, value.count <= 128 else { return false }
        for b in value where !(b >= 0x21 && b <= 0x7E) { return false }
        return true
    }
}
