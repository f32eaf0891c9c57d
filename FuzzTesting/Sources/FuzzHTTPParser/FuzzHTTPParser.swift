// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the incremental HTTP/1.1 request parser (TollgateHTTP.HTTPRequestParser).
//
// Input layout (see README.md):
//   byte 0        limits profile (low 2 bits; profile 3 also reads bits 2-7)
//   byte 1        k = byte % 8 + 1, the number of fragment sizes that follow
//   bytes 2..<2+k fragment sizes, each byte + 1 (1...256 bytes), cycled over the whole stream
//   the rest      the bytes a client sends on one connection
//
// The stream is parsed three times with a fresh parser: in one piece, split at the fragment
// sizes, and one byte at a time. The driver behaves like HTTPConnection: it keeps the unconsumed
// bytes, appends the new ones and calls `next(_:)` until `.needMore` or an error (every error
// closes the connection, so nothing is parsed after it). Every invariant is a `precondition`, so
// a violation is a crash that libFuzzer reports and saves.
import Glibc
import TollgateHTTP
import FuzzSupport

/// FUZZ_HTTP_TRACE=1 prints each input's outcomes to stderr (for replaying a seed or a crash).
let trace = getenv("FUZZ_HTTP_TRACE") != nil

/// Split independence: the outcomes of a fragmented run must equal the whole run's exactly.
func sameOutcomes(whole: [Outcome], split: [Outcome]) -> Bool {
    whole == split
}

// MARK: - What a run observed

/// One observation, with stream offsets absolute (from the start of the HTTP bytes), so that
/// "the same outcome" also means "the same bytes" and "the same request boundaries".
enum Outcome: Equatable, CustomStringConvertible {
    /// A head, with the stream offset just after it.
    case head(method: String, target: String, minor: Int, framing: HTTPBodyFraming, keepAlive: Bool,
              expectContinue: Bool, headerCount: Int, endOffset: Int)
    /// Body bytes; adjacent pieces are merged, so how the stream was split does not show.
    case body(Range<Int>)
    /// End of a request; `offset` is where the next request starts.
    case end(offset: Int)
    /// The parser refused the stream with this status.
    case error(status: Int)

    var description: String {
        switch self {
        case let .head(m, t, v, f, k, e, n, o):
            return "head(\(m) \(t) HTTP/1.\(v) \(f) keepAlive=\(k) expect100=\(e) fields=\(n) end@\(o))"
        case let .body(r): return "body(\(r.lowerBound)..<\(r.upperBound))"
        case let .end(o): return "end@\(o)"
        case let .error(s): return "error(\(s))"
        }
    }
}

/// Statuses `HTTPParseError` may carry when thrown by the parser (408 is the connection's).
let parserStatuses: Set<Int> = [400, 413, 414, 417, 431, 501, 505]

// MARK: - Driver

struct Run {
    let stream: UnsafeRawBufferPointer
    let limits: HTTPParserLimits
    var parser: HTTPRequestParser
    /// First byte not yet consumed by the parser.
    var start = 0
    /// Bytes delivered so far ("received from the socket").
    var available = 0
    var outcomes: [Outcome] = []
    var failed = false
    /// Framing of the request whose body is being read (nil between requests).
    var framing: HTTPBodyFraming?
    var bodyBytes = 0
    /// The refusal's message (for FUZZ_HTTP_TRACE; not compared, wording may differ by split).
    var refusal = ""

    init(stream: UnsafeRawBufferPointer, limits: HTTPParserLimits) {
        self.stream = stream
        self.limits = limits
        self.parser = HTTPRequestParser(limits: limits)
    }

    /// Delivers the stream up to `end` and parses as far as possible.
    mutating func deliver(upTo end: Int) {
        precondition(end >= available && end <= stream.count)
        available = end
        guard !failed else { return }
        var zeroProgress = 0
        while true {
            let buffer = UnsafeRawBufferPointer(rebasing: stream[start..<available])
            let step: (event: HTTPParseEvent, consumed: Int)
            do throws(HTTPParseError) {
                step = try parser.next(buffer)
            } catch {
                precondition(parserStatuses.contains(error.status), "unexpected status \(error.status): \(error)")
                outcomes.append(.error(status: error.status))
                if trace { refusal = error.description }
                failed = true
                return
            }
            precondition(step.consumed >= 0 && step.consumed <= buffer.count,
                         "consumed \(step.consumed) of \(buffer.count) bytes")
            let base = start
            start += step.consumed

            switch step.event {
            case .needMore:
                return
            case .head(let head):
                precondition(framing == nil, "a head while the previous request's body is still open")
                precondition(step.consumed > 0, "a head that consumed nothing")
                check(head, size: step.consumed)
                outcomes.append(.head(method: head.method.description, target: head.target,
                                      minor: head.minorVersion, framing: head.framing,
                                      keepAlive: head.keepAlive, expectContinue: head.expectContinue,
                                      headerCount: head.headerCount, endOffset: start))
                framing = head.framing
                bodyBytes = 0
                precondition(!parser.isReadingHead && !parser.isIdle, "parser idle right after a head")
            case .body(let range):
                guard let current = framing else { preconditionFailure("body bytes outside a request") }
                precondition(!range.isEmpty, "an empty body event (the caller would spin)")
                precondition(range.lowerBound >= 0 && range.upperBound <= step.consumed,
                             "body range \(range) outside the \(step.consumed) consumed bytes")
                bodyBytes += range.count
                switch current {
                case .none:
                    preconditionFailure("body bytes for a request without a body")
                case .length(let n):
                    precondition(bodyBytes <= n, "\(bodyBytes) body bytes for Content-Length \(n)")
                case .chunked:
                    precondition(bodyBytes <= limits.maxBody, "\(bodyBytes) chunked bytes over maxBody \(limits.maxBody)")
                }
                let absolute = (base + range.lowerBound)..<(base + range.upperBound)
                if case .body(let previous)? = outcomes.last, previous.upperBound == absolute.lowerBound {
                    outcomes[outcomes.count - 1] = .body(previous.lowerBound..<absolute.upperBound)
                } else {
                    outcomes.append(.body(absolute))
                }
            case .end:
                guard let current = framing else { preconditionFailure("end without a head") }
                if case .length(let n) = current {
                    precondition(bodyBytes == n, "request ended after \(bodyBytes) of \(n) body bytes")
                } else if current == .none {
                    precondition(bodyBytes == 0)
                }
                precondition(parser.isIdle && parser.isReadingHead, "parser not idle after .end")
                outcomes.append(.end(offset: start))
                framing = nil
                bodyBytes = 0
            }
            // `.end` may consume nothing (after a head without body, or a Content-Length body),
            // but two steps in a row without progress would spin a connection forever.
            if step.consumed == 0 {
                zeroProgress += 1
                precondition(zeroProgress <= 1, "two parser steps in a row without progress")
            } else {
                zeroProgress = 0
            }
        }
    }

    /// Invariants of one accepted head, checked against the fields it reports.
    func check(_ head: HTTPRequestHead, size: Int) {
        // RFC 9112 §2.2 allows (bounded) empty lines before the request line: 64 bytes here.
        precondition(size <= limits.maxHeader + 64, "a \(size)-byte head over maxHeader \(limits.maxHeader)")
        precondition(head.minorVersion == 0 || head.minorVersion == 1)
        precondition(head.headerCount <= limits.maxHeaderCount)
        let target = head.target
        precondition(target.utf8.first == UInt8(ascii: "/") || (target == "*" && head.method.description == "OPTIONS"),
                     "target \(target) is not origin-form")

        // Independent framing oracle (RFC 9112 §6.3) over the reported fields.
        var hosts = 0, lengths: [String] = [], encodings: [String] = []
        var close = false, keepAliveToken = false
        for i in 0..<head.headerCount {
            let (name, value) = head.header(at: i)
            precondition(!name.isEmpty && !name.utf8.contains(where: { $0 <= 0x20 || $0 == 0x3A || $0 == 0x5F || $0 >= 0x7F }),
                         "header name \(name.debugDescription) accepted")
            precondition(!value.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }),
                         "control character accepted in the value of \(name)")
            precondition(value.utf8.first != 0x20 && value.utf8.first != 0x09 && value.utf8.last != 0x20 && value.utf8.last != 0x09,
                         "value of \(name) not trimmed")
            switch name.lowercased() {
            case "host": hosts += 1
            case "content-length": lengths.append(value)
            case "transfer-encoding": encodings.append(value)
            case "connection":
                for token in value.split(separator: ",") {
                    let t = token.trimmingOWS.lowercased()
                    if t == "close" { close = true } else if t == "keep-alive" { keepAliveToken = true }
                }
            default: break
            }
        }
        precondition(hosts == 1 || (hosts == 0 && head.minorVersion == 0), "\(hosts) Host fields accepted")
        let expected: HTTPBodyFraming
        if !encodings.isEmpty {
            precondition(encodings.count == 1 && lengths.isEmpty && head.minorVersion == 1,
                         "ambiguous Transfer-Encoding accepted")
            precondition(encodings[0].lowercased() == "chunked", "Transfer-Encoding \(encodings[0]) accepted")
            expected = .chunked
        } else if !lengths.isEmpty {
            precondition(lengths.count == 1, "\(lengths.count) Content-Length fields accepted")
            let digits = lengths[0].utf8
            precondition(!digits.isEmpty && digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                         "Content-Length \(lengths[0].debugDescription) accepted")
            guard let n = Int(lengths[0]) else { preconditionFailure("Content-Length \(lengths[0]) accepted") }
            precondition(n <= limits.maxBody, "Content-Length \(n) over maxBody \(limits.maxBody) accepted")
            expected = .length(n)
        } else {
            expected = .none
        }
        precondition(head.framing == expected, "framing \(head.framing), the fields say \(expected)")
        let keepAlive = head.minorVersion >= 1 ? !close : (keepAliveToken && !close)
        precondition(head.keepAlive == keepAlive, "keepAlive \(head.keepAlive), the fields say \(keepAlive)")

        // Re-serialise the head and parse it again: same request. Values come back as Strings,
        // so obs-text that is not UTF-8 grows (1 byte -> U+FFFD, 3 bytes); the limits grow too.
        var text = "\(head.method) \(target) HTTP/1.\(head.minorVersion)\r\n"
        for i in 0..<head.headerCount {
            let (name, value) = head.header(at: i)
            text += "\(name): \(value)\r\n"
        }
        text += "\r\n"
        var roomy = limits
        roomy.maxHeader = limits.maxHeader * 3 + 64
        roomy.maxRequestLine = min(limits.maxRequestLine * 3 + 16, roomy.maxHeader)
        roomy.maxFieldLine = min(limits.maxFieldLine * 3 + 16, roomy.maxHeader)
        var again = HTTPRequestParser(limits: roomy)
        let bytes = Array(text.utf8)
        var refusal: HTTPParseError?
        var reparsed: (event: HTTPParseEvent, consumed: Int) = (.needMore, 0)
        bytes.withUnsafeBytes { raw in
            do throws(HTTPParseError) {
                reparsed = try again.next(raw)
            } catch {
                refusal = error
            }
        }
        if let refusal {
            preconditionFailure("re-serialised head refused with \(refusal): \(text.debugDescription)")
        }
        guard case .head(let second) = reparsed.event, reparsed.consumed == bytes.count else {
            preconditionFailure("re-serialised head not parsed as one head: \(text.debugDescription)")
        }
        precondition(second.method == head.method && second.target == target && second.minorVersion == head.minorVersion
                     && second.framing == head.framing && second.keepAlive == head.keepAlive
                     && second.expectContinue == head.expectContinue && second.headerCount == head.headerCount,
                     "re-serialised head parsed differently: \(text.debugDescription)")
        for i in 0..<head.headerCount {
            precondition(second.header(at: i) == head.header(at: i), "field \(i) changed on re-parse")
        }
    }
}

extension Substring {
    var trimmingOWS: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}

// MARK: - Input decoding

func limitsProfile(_ b: UInt8) -> HTTPParserLimits {
    switch b & 3 {
    case 0:
        return HTTPParserLimits()  // production defaults
    case 1:
        return HTTPParserLimits(maxHeader: 128, maxRequestLine: 40, maxHeaderCount: 3, maxFieldLine: 40,
                                maxBody: 16, maxChunkExtension: 4)
    case 2:
        return HTTPParserLimits(maxHeader: 512, maxRequestLine: 128, maxHeaderCount: 8, maxFieldLine: 128,
                                maxBody: 256, maxChunkExtension: 16)
    default:
        // Limits from the upper six bits, including degenerate ones (no fields, empty bodies).
        let x = Int(b >> 2)
        let maxHeader = 24 + x * 16
        return HTTPParserLimits(maxHeader: maxHeader, maxRequestLine: 16 + (x & 7) * 8, maxHeaderCount: x & 7,
                                maxFieldLine: 8 + (x >> 3) * 12, maxBody: (x & 15) * 3, maxChunkExtension: x >> 4)
    }
}

func runCase(_ input: UnsafeRawBufferPointer) {
    guard input.count >= 2 else { return }
    let limits = limitsProfile(input[0])
    let k = Int(input[1] % 8) + 1
    guard input.count >= 2 + k else { return }
    let sizes = (0..<k).map { Int(input[2 + $0]) + 1 }
    let stream = UnsafeRawBufferPointer(rebasing: input[(2 + k)...])

    var whole = Run(stream: stream, limits: limits)
    whole.deliver(upTo: stream.count)
    if trace {
        var text = "limits \(limits), fragment sizes \(sizes), \(stream.count) stream bytes\n"
        for outcome in whole.outcomes { text += "  \(outcome)\n" }
        if whole.failed { text += "  refusal: \(whole.refusal)\n" }
        _ = text.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    }

    var fragmented = Run(stream: stream, limits: limits)
    var offset = 0, n = 0
    while offset < stream.count {
        offset = min(offset + sizes[n % k], stream.count)
        n += 1
        fragmented.deliver(upTo: offset)
    }

    var bytewise = Run(stream: stream, limits: limits)
    for end in stride(from: 1, through: stream.count, by: 1) { bytewise.deliver(upTo: end) }

    for (name, other) in [("fragmented", fragmented), ("byte-by-byte", bytewise)] {
        if !sameOutcomes(whole: whole.outcomes, split: other.outcomes) {
            preconditionFailure("""
                outcomes differ, whole vs \(name) (fragment sizes \(sizes)):
                  whole: \(whole.outcomes)
                  \(name): \(other.outcomes)
                """)
        }
        if !whole.failed {
            precondition(other.parser.isReadingHead == whole.parser.isReadingHead
                         && other.parser.isIdle == whole.parser.isIdle,
                         "parser state differs at the end, whole vs \(name)")
        }
    }
}

// MARK: - libFuzzer entry points

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    runCase(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

// SwiftPM links an executable target with `--defsym main=FuzzHTTPParser_main` (see FuzzSupport).
@_cdecl("FuzzHTTPParser_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzHTTPParser)
}
