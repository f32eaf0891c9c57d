// SPDX-License-Identifier: Apache-2.0
// Incremental HTTP/1.1 request parser (RFC 9112). It never needs a whole request in memory:
// the head is bounded by `maxHeader` and parsed once its end is in the buffer; bodies are
// handed out as ranges of whatever bytes have arrived. It is strict where leniency has caused
// request smuggling (see shared/research/reliability-anchors.md §2): every ambiguity is an
// error, and every error closes the connection.

/// Limits the parser enforces while framing a request.
public struct HTTPParserLimits: Sendable, Equatable {
    /// Request line plus header section, in bytes → 431.
    public var maxHeader: Int
    /// The request line alone → 414 (RFC 9112 §3 asks for at least 8000 octets).
    public var maxRequestLine: Int
    /// Header fields per request → 431 (Envoy 100, HAProxy 101).
    public var maxHeaderCount: Int
    /// One header line → 431 (nginx's large_client_header_buffers refuses lines over 8 KiB;
    /// we allow 16 KiB for large bearer tokens).
    public var maxFieldLine: Int
    /// Body bytes, declared or received → 413.
    public var maxBody: Int
    /// One chunk extension (`;name=value`) → 400.
    public var maxChunkExtension: Int

    public init(maxHeader: Int = 32 * 1024, maxRequestLine: Int = 8 * 1024, maxHeaderCount: Int = 100,
                maxFieldLine: Int = 16 * 1024, maxBody: Int = 100 * 1024 * 1024, maxChunkExtension: Int = 4096) {
        self.maxHeader = maxHeader
        self.maxRequestLine = min(maxRequestLine, maxHeader)
        self.maxHeaderCount = maxHeaderCount
        self.maxFieldLine = min(maxFieldLine, maxHeader)
        self.maxBody = maxBody
        self.maxChunkExtension = maxChunkExtension
    }
}

/// What one step of parsing produced.
public enum HTTPParseEvent: Sendable {
    /// A complete, validated request head.
    case head(HTTPRequestHead)
    /// Body bytes: this range of the buffer passed to `next`.
    case body(Range<Int>)
    /// The request (head and body) is complete; the next bytes start a new request.
    case end
    /// More bytes are needed; keep the unconsumed bytes and call again when more arrive.
    case needMore
}

public struct HTTPRequestParser: Sendable {
    private enum State: Sendable {
        case head
        case lengthBody
        case messageEnd
        case chunkSize, chunkExtension, chunkSizeLF, chunkData, chunkDataCR, chunkDataLF
        case trailerLineStart, trailerName, trailerValue, trailerLineLF, trailerEndLF
    }

    public let limits: HTTPParserLimits
    private var state: State = .head

    // Head scanning, relative to the unconsumed bytes (which the caller keeps between calls).
    private var scanned = 0
    private var lineStart = 0
    private var leadingEmpty = 0
    /// The request line, parsed when its CRLF arrived (nil until then).
    private var requestLine: HTTPHeadParser.RequestLine?
    /// The buffer a head is built in, kept for the next request on the connection: once the
    /// previous head is released it is reused without an allocation (copy-on-write makes a
    /// fresh one while a responder still holds the old head).
    private var storage: [UInt8] = []

    // Body.
    private var remaining = 0
    private var chunkSize = 0
    private var chunkDigits = 0
    private var extensionLength = 0
    private var bodyReceived = 0
    private var trailerBytes = 0

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
    }

    /// True between requests, when no byte of a new request has been consumed or scanned.
    public var isIdle: Bool { state == .head && scanned == 0 }

    /// True while a head is being received (for the header timeout).
    public var isReadingHead: Bool { state == .head }

    /// Parses from the start of `buffer` (the bytes not consumed by earlier calls, followed by
    /// any new ones). Returns the event and how many bytes of `buffer` it consumed.
    public mutating func next(_ buffer: UnsafeRawBufferPointer) throws(HTTPParseError) -> (event: HTTPParseEvent, consumed: Int) {
        switch state {
        case .head:
            return try scanHead(buffer)
        case .messageEnd:
            resetForNextRequest()
            return (.end, 0)
        case .lengthBody:
            let n = min(remaining, buffer.count)
            guard n > 0 else { return (.needMore, 0) }
            remaining -= n
            if remaining == 0 { state = .messageEnd }
            return (.body(0..<n), n)
        default:
            return try stepChunked(buffer)
        }
    }

    private mutating func resetForNextRequest() {
        state = .head
        scanned = 0
        lineStart = 0
        leadingEmpty = 0
        requestLine = nil
        remaining = 0
        chunkSize = 0
        chunkDigits = 0
        extensionLength = 0
        bodyReceived = 0
        trailerBytes = 0
    }

    // MARK: - Head

    /// Finds the head's lines with memchr (one call per line for the LF, one for a stray CR)
    /// instead of judging every byte here: the fields are validated byte by byte once, by
    /// `HTTPHeadParser`, when the whole head is in. Only the request line is checked as it
    /// arrives, so garbage is refused before its line ends.
    private mutating func scanHead(_ p: UnsafeRawBufferPointer) throws(HTTPParseError) -> (event: HTTPParseEvent, consumed: Int) {
        let count = p.count
        var i = scanned
        while i < count {
            // Limits are judged at the byte that crosses them, before the byte itself, so the
            // answer never depends on how the stream was split into reads (a whole buffer and
            // a byte-at-a-time one meet the same byte first): `limitAt` is that byte's index.
            let headLimitAt = leadingEmpty + limits.maxHeader
            let lineLimitAt = requestLine == nil ? leadingEmpty + limits.maxRequestLine + 2 : Int.max
            let limitAt = min(headLimitAt, lineLimitAt)
            let stop = min(count, limitAt)
            let lf = HTTPBytes.find(HTTPBytes.lf, in: p, from: i, to: stop) ?? stop
            if requestLine == nil {
                // Binary garbage, a TLS ClientHello or a control character: refuse at once
                // rather than waiting for a line end that may never come.
                var j = i
                while j < lf {
                    let b = p[j]
                    if b &- 0x20 < 0x5F {  // SP or visible ASCII
                        j += 1
                        continue
                    }
                    guard b == HTTPBytes.cr else { throw .badRequest("invalid character in request line") }
                    if j + 1 == count { scanned = j; return (.needMore, 0) }  // look again with the next byte
                    guard p[j + 1] == HTTPBytes.lf else { throw .badRequest("bare CR in request head") }
                    j += 1
                }
            } else {
                // A CR anywhere but right before the LF is a bare CR (RFC 9112 §2.2).
                var from = i
                while let cr = HTTPBytes.find(HTTPBytes.cr, in: p, from: from, to: lf) {
                    if cr + 1 == count { scanned = cr; return (.needMore, 0) }
                    guard p[cr + 1] == HTTPBytes.lf else { throw .badRequest("bare CR in request head") }
                    from = cr + 1
                }
            }
            if lf == stop {
                guard limitAt < count else { break }  // all bytes so far are fine: wait for more
                if limitAt == lineLimitAt { throw .uriTooLong(limit: limits.maxRequestLine) }
                throw .headerTooLarge("the head exceeds \(limits.maxHeader) bytes")
            }
            // RFC 9112 §2.2 lets a recipient accept a bare LF; we do not, because the front
            // proxy may disagree about where the line ended (request smuggling).
            guard lf > lineStart, p[lf - 1] == HTTPBytes.cr else { throw .badRequest("bare LF in request head") }
            let lineLength = lf - 1 - lineStart
            if let line = requestLine {
                if lineLength == 0 {
                    let end = lf + 1
                    let head = try HTTPHeadParser(bytes: UnsafeRawBufferPointer(rebasing: p[leadingEmpty..<end]), limits: limits)
                        .parse(after: line, storage: &storage)
                    enterBody(head.framing)
                    return (.head(head), end)
                }
            } else if lineLength == 0 {
                // RFC 9112 §2.2: ignore empty lines before the request-line (bounded).
                leadingEmpty = lf + 1
                guard leadingEmpty <= 64 else { throw .badRequest("too many empty lines before the request line") }
            } else {
                guard lineLength <= limits.maxRequestLine else { throw .uriTooLong(limit: limits.maxRequestLine) }
                // Offsets from `lineStart`: the head is parsed from there too (`leadingEmpty`).
                requestLine = try HTTPHeadParser.parseRequestLine(UnsafeRawBufferPointer(rebasing: p[lineStart...lf]),
                                                                  limits: limits)
            }
            lineStart = lf + 1
            i = lf + 1
        }
        scanned = count
        return (.needMore, 0)
    }

    private mutating func enterBody(_ framing: HTTPBodyFraming) {
        scanned = 0
        lineStart = 0
        leadingEmpty = 0
        requestLine = nil
        switch framing {
        case .none, .length(0):
            state = .messageEnd
        case .length(let n):
            remaining = n
            state = .lengthBody
        case .chunked:
            chunkSize = 0
            chunkDigits = 0
            state = .chunkSize
        }
    }

    // MARK: - Chunked body (RFC 9112 §7.1)

    private mutating func stepChunked(_ p: UnsafeRawBufferPointer) throws(HTTPParseError) -> (event: HTTPParseEvent, consumed: Int) {
        let count = p.count
        var i = 0
        while i < count {
            if state == .chunkData {
                let n = min(remaining, count - i)
                remaining -= n
                bodyReceived += n
                if remaining == 0 { state = .chunkDataCR }
                return (.body(i..<(i + n)), i + n)
            }
            let b = p[i]
            switch state {
            case .chunkSize:
                if let digit = Self.hexValue(b) {
                    // 1*HEXDIG with an overflow guard (§7.1: "MUST anticipate potentially large
                    // hexadecimal numerals and prevent parsing errors due to integer overflow").
                    guard chunkDigits < 16, chunkSize <= (Int.max >> 4) else { throw .badRequest("chunk size too large") }
                    chunkSize = chunkSize << 4 | digit
                    chunkDigits += 1
                } else if b == UInt8(ascii: ";") && chunkDigits > 0 {
                    extensionLength = 0
                    state = .chunkExtension
                } else if b == HTTPBytes.cr && chunkDigits > 0 {
                    state = .chunkSizeLF
                } else {
                    throw .badRequest("invalid chunk size")
                }
            case .chunkExtension:
                if b == HTTPBytes.cr {
                    state = .chunkSizeLF
                } else if b == HTTPBytes.htab || (b >= 0x20 && b != 0x7F) {
                    extensionLength += 1
                    guard extensionLength <= limits.maxChunkExtension else { throw .badRequest("chunk extension too long") }
                } else {
                    throw .badRequest("invalid character in chunk extension")
                }
            case .chunkSizeLF:
                guard b == HTTPBytes.lf else { throw .badRequest("chunk size line not ended by CRLF") }
                if chunkSize == 0 {
                    trailerBytes = 0
                    state = .trailerLineStart
                } else {
                    guard chunkSize <= limits.maxBody - bodyReceived else { throw .bodyTooLarge(limit: limits.maxBody) }
                    remaining = chunkSize
                    state = .chunkData
                }
            case .chunkDataCR:
                guard b == HTTPBytes.cr else { throw .badRequest("chunk data longer than its declared size") }
                state = .chunkDataLF
            case .chunkDataLF:
                guard b == HTTPBytes.lf else { throw .badRequest("chunk data not followed by CRLF") }
                chunkSize = 0
                chunkDigits = 0
                state = .chunkSize
            case .trailerLineStart:
                if b == HTTPBytes.cr {
                    state = .trailerEndLF
                } else if HTTPBytes.isTokenChar(b) && b != UInt8(ascii: "_") {
                    state = .trailerName
                } else {
                    throw .badRequest("invalid trailer field")
                }
            case .trailerName:
                if b == HTTPBytes.colon {
                    state = .trailerValue
                } else if !HTTPBytes.isTokenChar(b) || b == UInt8(ascii: "_") {
                    throw .badRequest("invalid trailer field name")
                }
            case .trailerValue:
                if b == HTTPBytes.cr {
                    state = .trailerLineLF
                } else if !HTTPBytes.isFieldValueChar(b) {
                    throw .badRequest("invalid character in trailer value")
                }
            case .trailerLineLF:
                guard b == HTTPBytes.lf else { throw .badRequest("trailer line not ended by CRLF") }
                state = .trailerLineStart
            case .trailerEndLF:
                guard b == HTTPBytes.lf else { throw .badRequest("trailer section not ended by CRLF") }
                // Trailers are checked for syntax and then dropped: never merged into the
                // header section (a trailer Content-Length or Host must not change anything).
                resetForNextRequest()
                return (.end, i + 1)
            default:
                preconditionFailure("unreachable chunk state")
            }
            if state == .trailerName || state == .trailerValue || state == .trailerLineLF {
                trailerBytes += 1
                guard trailerBytes <= limits.maxHeader else { throw .headerTooLarge("trailer section too large") }
            }
            i += 1
        }
        return (.needMore, count)
    }

    @inline(__always)
    private static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: return Int(b - 0x30)
        case 0x41...0x46: return Int(b - 0x41 + 10)
        case 0x61...0x66: return Int(b - 0x61 + 10)
        default: return nil
        }
    }
}
