// SPDX-License-Identifier: Apache-2.0
// Parses one complete request head (request line, fields, final empty line) and decides its
// body framing. The scanner in HTTPRequestParser has already checked that every line ends in
// CRLF, that no other CR occurs, and that the request line holds only visible ASCII and spaces.
import Glibc

struct HTTPHeadParser {
    let p: UnsafeRawBufferPointer
    let limits: HTTPParserLimits

    init(bytes: UnsafeRawBufferPointer, limits: HTTPParserLimits) {
        self.p = bytes
        self.limits = limits
    }

    /// The request line's parts, with the index just past its CRLF.
    struct RequestLine: Sendable {
        let method: HTTPMethod
        let methodEnd: Int
        let targetStart: Int
        /// Where the path ends: the first `?`, or `targetEnd`.
        let pathEnd: Int
        let targetEnd: Int
        let minor: Int
        let next: Int
    }

    /// Parses a request line as soon as its CRLF has arrived (`line` = the line and its CRLF),
    /// with exactly the errors the whole head would get: an HTTP/0.9 request (`GET /`) is
    /// refused at once instead of waiting for a blank line that never comes. The result is
    /// kept for `parse(after:)`, so the line is parsed once.
    static func parseRequestLine(_ line: UnsafeRawBufferPointer, limits: HTTPParserLimits) throws(HTTPParseError) -> RequestLine {
        try HTTPHeadParser(bytes: line, limits: limits).parseRequestLine()
    }

    private func parseRequestLine() throws(HTTPParseError) -> RequestLine {
        // MARK: request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
        var i = 0
        while p[i] != HTTPBytes.sp && p[i] != HTTPBytes.cr {
            guard HTTPBytes.isTokenChar(p[i]) else { throw .badRequest("invalid method") }
            i += 1
        }
        let methodEnd = i
        guard methodEnd > 0, p[i] == HTTPBytes.sp else { throw .badRequest("malformed request line") }
        i += 1
        let targetStart = i
        var pathEnd = -1
        while p[i] != HTTPBytes.sp && p[i] != HTTPBytes.cr {
            guard HTTPBytes.isTargetChar(p[i]) else { throw .badRequest("invalid character in request target") }
            if p[i] == UInt8(ascii: "?") && pathEnd < 0 { pathEnd = i }
            i += 1
        }
        let targetEnd = i
        if pathEnd < 0 { pathEnd = targetEnd }
        // "GET /\r\n" (HTTP/0.9) and "GET  / HTTP/1.1" (two spaces) both end here.
        guard targetEnd > targetStart, p[i] == HTTPBytes.sp else { throw .badRequest("malformed request line") }
        i += 1
        let versionStart = i
        while p[i] != HTTPBytes.cr { i += 1 }
        let minor = try parseVersion(versionStart, i)
        i += 2

        guard let method = HTTPMethod.parse(UnsafeRawBufferPointer(rebasing: p[0..<methodEnd])) else {
            throw .notImplemented("method \(String(decoding: UnsafeRawBufferPointer(rebasing: p[0..<methodEnd]), as: UTF8.self))")
        }
        // Origin-form only (and `OPTIONS *`): we are not a forward proxy, so absolute-form and
        // authority-form targets are refused rather than interpreted.
        let isAsterisk = targetEnd - targetStart == 1 && p[targetStart] == UInt8(ascii: "*")
        guard p[targetStart] == UInt8(ascii: "/") || (isAsterisk && method == .options) else {
            throw .badRequest("request target must be an absolute path")
        }
        return RequestLine(method: method, methodEnd: methodEnd, targetStart: targetStart, pathEnd: pathEnd,
                           targetEnd: targetEnd, minor: minor, next: i)
    }

    /// Larger head buffers are not kept for the next request (see `HTTPRequestParser.storage`):
    /// an idle connection holds at most about this much.
    static let keptStorageBytes = 2048

    /// Parses the fields of a head whose request line `line` (offsets from the start of the
    /// same bytes) was parsed already. The head is built in `storage`: the bytes, then the
    /// field table.
    func parse(after line: RequestLine, storage: inout [UInt8]) throws(HTTPParseError) -> HTTPRequestHead {
        let (method, minor) = (line.method, line.minor)
        var i = line.next

        // Copy-on-write: a fresh buffer while the previous head is still held, else the kept
        // one, overwritten (bytes past the field table are stale and never read).
        Self.store(p, at: 0, in: &storage)

        // MARK: field lines (RFC 9112 §5, RFC 9110 §5)
        var fieldCount = 0
        var hostCount = 0
        var host = 0..<0
        var contentLength = 0..<0
        var contentLengthCount = 0
        var transferEncoding = 0..<0
        var transferEncodingCount = 0
        var connectionClose = false
        var connectionKeepAlive = false
        var expect: Range<Int>?
        var authorizationIndex = -1
        var requestIDIndex = -1
        var contentTypeIndex = -1

        while p[i] != HTTPBytes.cr {
            if p[i] == HTTPBytes.sp || p[i] == HTTPBytes.htab {
                // obs-fold, or whitespace before the first field (§5.2, §2.2): refused.
                throw .badRequest("header line starts with whitespace (obs-fold)")
            }
            let nameStart = i
            i = Self.nameEnd(p, from: i)
            switch p[i] {
            case HTTPBytes.colon: break
            case HTTPBytes.sp, HTTPBytes.htab: throw .badRequest("whitespace before colon in header name")
            case HTTPBytes.cr: throw .badRequest("header line without colon")
            // Underscores are tokens, but `Content_Length` is read as Content-Length by some
            // CGI-style stacks; refusing them (Envoy's REJECT_REQUEST) closes that gap.
            case UInt8(ascii: "_"): throw .badRequest("underscore in header name")
            default: throw .badRequest("invalid character in header name")
            }
            let nameEnd = i
            guard nameEnd > nameStart else { throw .badRequest("empty header name") }
            i += 1
            while p[i] == HTTPBytes.sp || p[i] == HTTPBytes.htab { i += 1 }
            let valueStart = i
            // The line's CR is its only one (the scanner saw to that) and ends the value.
            i = try Self.valueEnd(p, from: i)
            var valueEnd = i
            while valueEnd > valueStart && (p[valueEnd - 1] == HTTPBytes.sp || p[valueEnd - 1] == HTTPBytes.htab) { valueEnd -= 1 }
            guard i - nameStart <= limits.maxFieldLine else {
                throw .headerTooLarge("a header line exceeds \(limits.maxFieldLine) bytes")
            }
            i += 2

            let index = fieldCount
            guard index < limits.maxHeaderCount else { throw .headerTooLarge("more than \(limits.maxHeaderCount) header fields") }
            fieldCount += 1
            let field = HTTPField(nameStart: Int32(nameStart), nameEnd: Int32(nameEnd),
                                  valueStart: Int32(valueStart), valueEnd: Int32(valueEnd))
            withUnsafeBytes(of: field) { Self.store($0, at: p.count + index * HTTPField.size, in: &storage) }
            let value = valueStart..<valueEnd
            // Known names by length and first letter, then compared in full.
            let name = UnsafeRawBufferPointer(rebasing: p[nameStart..<nameEnd])
            switch (name.count, p[nameStart] | 0x20) {
            case (4, UInt8(ascii: "h")) where HTTPBytes.equalsIgnoringCase(name, "host"):
                hostCount += 1
                host = value
            case (6, UInt8(ascii: "e")) where HTTPBytes.equalsIgnoringCase(name, "expect"):
                expect = value
            case (10, UInt8(ascii: "c")) where HTTPBytes.equalsIgnoringCase(name, "connection"):
                Self.scanConnection(UnsafeRawBufferPointer(rebasing: p[value]), close: &connectionClose, keepAlive: &connectionKeepAlive)
            case (12, UInt8(ascii: "c")) where HTTPBytes.equalsIgnoringCase(name, "content-type"):
                contentTypeIndex = index
            case (12, UInt8(ascii: "x")) where HTTPBytes.equalsIgnoringCase(name, "x-request-id"):
                requestIDIndex = index
            case (13, UInt8(ascii: "a")) where HTTPBytes.equalsIgnoringCase(name, "authorization"):
                // RFC 9110 §11.6.2 allows one credential; with two, a later proxy or backend
                // could believe the other one than we checked.
                if authorizationIndex >= 0 { throw .badRequest("more than one Authorization header") }
                authorizationIndex = index
            case (14, UInt8(ascii: "c")) where HTTPBytes.equalsIgnoringCase(name, "content-length"):
                contentLengthCount += 1
                contentLength = value
            case (17, UInt8(ascii: "t")) where HTTPBytes.equalsIgnoringCase(name, "transfer-encoding"):
                transferEncodingCount += 1
                transferEncoding = value
            default:
                break
            }
        }

        // MARK: Host (RFC 9112 §3.2)
        if minor >= 1 && hostCount == 0 { throw .badRequest("missing Host header") }
        if hostCount > 1 { throw .badRequest("more than one Host header") }
        if hostCount == 1 { try Self.validateHost(UnsafeRawBufferPointer(rebasing: p[host])) }

        // MARK: body framing (RFC 9112 §6.3)
        var framing = HTTPBodyFraming.none
        if transferEncodingCount > 0 {
            if minor == 0 { throw .badRequest("Transfer-Encoding in an HTTP/1.0 request") }
            if transferEncodingCount > 1 { throw .badRequest("more than one Transfer-Encoding header") }
            if contentLengthCount > 0 { throw .badRequest("both Content-Length and Transfer-Encoding") }
            try Self.validateTransferEncoding(UnsafeRawBufferPointer(rebasing: p[transferEncoding]))
            framing = .chunked
        } else if contentLengthCount > 0 {
            if contentLengthCount > 1 { throw .badRequest("more than one Content-Length header") }
            let length = try Self.parseContentLength(UnsafeRawBufferPointer(rebasing: p[contentLength]))
            guard length <= limits.maxBody else { throw .bodyTooLarge(limit: limits.maxBody) }
            framing = .length(length)
        }

        // MARK: Expect (RFC 9110 §10.1.1; a 1.0 request's Expect is ignored)
        var expectContinue = false
        if let expect, minor >= 1 {
            guard HTTPBytes.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: p[expect]), "100-continue") else {
                throw .expectationFailed
            }
            expectContinue = framing != .none
        }

        let keepAlive = minor >= 1 ? !connectionClose : (connectionKeepAlive && !connectionClose)
        let head = HTTPRequestHead(method: method, minorVersion: minor, keepAlive: keepAlive, framing: framing,
                                   expectContinue: expectContinue, bytes: storage, headLength: p.count,
                                   headerCount: fieldCount, targetStart: line.targetStart, pathEnd: line.pathEnd,
                                   targetEnd: line.targetEnd, authorizationIndex: authorizationIndex,
                                   requestIDIndex: requestIDIndex, contentTypeIndex: contentTypeIndex)
        if storage.capacity > Self.keptStorageBytes { storage = [] }
        return head
    }

    /// Copies `bytes` to `storage[offset...]`, growing it first if it is too short (rarely: the
    /// buffer is kept from request to request). One memcpy: `append(contentsOf:)` would copy
    /// byte by byte.
    @inline(__always)
    private static func store(_ bytes: UnsafeRawBufferPointer, at offset: Int, in storage: inout [UInt8]) {
        let end = offset + bytes.count
        if storage.count < end { storage.append(contentsOf: repeatElement(0, count: end - storage.count + 256)) }
        guard let source = bytes.baseAddress else { return }
        storage.withUnsafeMutableBytes { out in
            guard let base = out.baseAddress else { return }
            (base + offset).copyMemory(from: source, byteCount: bytes.count)
        }
    }

    /// Where the run of name characters from `start` ends (at the colon, if all is well).
    /// Not inlined: in its own frame the loop keeps its index in a register.
    @inline(never)
    private static func nameEnd(_ p: UnsafeRawBufferPointer, from start: Int) -> Int {
        var i = start
        while HTTPBytes.isNameChar(p[i]) { i &+= 1 }
        return i
    }

    /// The end of the field value starting at `i`: its line's CR. Eight bytes at a time while
    /// none of them can be a control or DEL; the byte loop decides otherwise.
    @inline(never)
    private static func valueEnd(_ p: UnsafeRawBufferPointer, from start: Int) throws(HTTPParseError) -> Int {
        var i = start
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        // A word that holds the value's CR is always looked at byte by byte, so no word is
        // skipped past the line's end.
        while i + 8 <= p.count {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            // Any byte < 0x20 (a control, CR, HTAB) or equal to 0x7F: look byte by byte.
            let low = (w &- ones &* 0x20) & ~w & highs
            let x = w ^ (ones &* 0x7F)
            let del = (x &- ones) & ~x & highs
            if low | del != 0 { break }
            i += 8
        }
        while true {
            let b = p[i]
            if HTTPBytes.isFieldValueChar(b) { i &+= 1; continue }
            if b == HTTPBytes.cr { return i }
            throw .badRequest("invalid character in header value")
        }
    }

    /// HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3).
    private func parseVersion(_ start: Int, _ end: Int) throws(HTTPParseError) -> Int {
        let v = UnsafeRawBufferPointer(rebasing: p[start..<end])
        guard v.count == 8, v[0] == UInt8(ascii: "H"), v[1] == UInt8(ascii: "T"), v[2] == UInt8(ascii: "T"),
              v[3] == UInt8(ascii: "P"), v[4] == UInt8(ascii: "/"), v[6] == UInt8(ascii: "."),
              (0x30...0x39).contains(v[5]), (0x30...0x39).contains(v[7]) else {
            throw .badRequest("malformed HTTP version")
        }
        guard v[5] == UInt8(ascii: "1") else { throw .versionNotSupported }
        // A higher 1.x minor is answered as 1.1 (RFC 9110 §2.5), as nginx does.
        return min(Int(v[7] - 0x30), 1)
    }

    /// Content-Length = 1*DIGIT. No sign, no spaces, no lists, no hex; more than 18 digits is
    /// refused before it can overflow (reliability-anchors §2, cases 8–9).
    static func parseContentLength(_ v: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int {
        guard !v.isEmpty, v.count <= 18 else { throw .badRequest("invalid Content-Length") }
        var n = 0
        for b in v {
            guard b >= 0x30 && b <= 0x39 else { throw .badRequest("invalid Content-Length") }
            n = n * 10 + Int(b - 0x30)
        }
        return n
    }

    /// Accepts exactly `chunked` as the final and only coding we decode. `gzip, chunked` and
    /// other codings are 501 (we do not decode them); `chunked` not last, empty list elements,
    /// or a repeated `chunked` are 400 (RFC 9112 §6.3 item 4, §7).
    static func validateTransferEncoding(_ v: UnsafeRawBufferPointer) throws(HTTPParseError) {
        var elements: [UnsafeRawBufferPointer] = []
        var start = 0
        for i in 0...v.count where i == v.count || v[i] == UInt8(ascii: ",") {
            var s = start, e = i
            while s < e && (v[s] == HTTPBytes.sp || v[s] == HTTPBytes.htab) { s += 1 }
            while e > s && (v[e - 1] == HTTPBytes.sp || v[e - 1] == HTTPBytes.htab) { e -= 1 }
            guard e > s else { throw .badRequest("empty element in Transfer-Encoding") }
            let element = UnsafeRawBufferPointer(rebasing: v[s..<e])
            for b in element where !HTTPBytes.isTokenChar(b) {
                throw .badRequest("invalid Transfer-Encoding")
            }
            elements.append(element)
            start = i + 1
        }
        let chunkedPositions = elements.indices.filter { HTTPBytes.equalsIgnoringCase(elements[$0], "chunked") }
        if chunkedPositions.count > 1 { throw .badRequest("chunked applied more than once") }
        if let position = chunkedPositions.first, position != elements.count - 1 {
            throw .badRequest("chunked is not the final transfer coding")
        }
        if chunkedPositions.isEmpty {
            throw .notImplemented("transfer coding '\(String(decoding: elements.last!, as: UTF8.self))'")
        }
        if elements.count > 1 {
            throw .notImplemented("transfer coding '\(String(decoding: elements[0], as: UTF8.self))'")
        }
    }

    /// Host = uri-host [ ":" port ] (RFC 9110 §7.2): refuse characters that cannot appear there
    /// (whitespace, '/', '@', '?', '#', quotes, ...). An empty value is allowed (§7.2).
    static func validateHost(_ v: UnsafeRawBufferPointer) throws(HTTPParseError) {
        for b in v where !HTTPBytes.isHostChar(b) { throw .badRequest("invalid Host header") }
    }

    /// Connection = #connection-option; only `close` and `keep-alive` matter here.
    static func scanConnection(_ v: UnsafeRawBufferPointer, close: inout Bool, keepAlive: inout Bool) {
        var start = 0
        for i in 0...v.count where i == v.count || v[i] == UInt8(ascii: ",") {
            var s = start, e = i
            while s < e && (v[s] == HTTPBytes.sp || v[s] == HTTPBytes.htab) { s += 1 }
            while e > s && (v[e - 1] == HTTPBytes.sp || v[e - 1] == HTTPBytes.htab) { e -= 1 }
            let token = UnsafeRawBufferPointer(rebasing: v[s..<e])
            if HTTPBytes.equalsIgnoringCase(token, "close") { close = true }
            else if HTTPBytes.equalsIgnoringCase(token, "keep-alive") { keepAlive = true }
            start = i + 1
        }
    }
}
