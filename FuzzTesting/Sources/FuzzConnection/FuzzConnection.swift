// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for a whole client connection: the real HTTPServer, HTTPConnection and
// parser on a real event loop thread, fed through a socketpair so every split is exact.
//
// Input layout (see README.md):
//   byte 0        server profile: bit 0 tiny limits, bit 1 small water marks (backpressure),
//                 bit 2 client reads only at the end, bit 3 client keeps its write side open
//                 after sending (else it half-closes, and the server closes once it answered)
//   byte 1        k = byte % 8 + 1, the number of fragment sizes that follow
//   bytes 2..<2+k fragment sizes, each byte + 1 (1...256 bytes), cycled over the stream
//   the rest      the bytes the client sends
//
// Each fragment is written, then the fuzzer waits until the server has read it (FIONREAD on
// the server's end is 0), so the server sees exactly these reads. The responder's routes give
// every kind of answer: immediate, late (timer), closing with the body unread, body echo with
// pauses, streams under backpressure, aborts, answers before the body ended.
//
// Invariants (a violation is a crash): no trap anywhere in the server; every response is
// well-formed HTTP/1.1 with an x-request-id; nothing follows a `connection: close` response;
// a truncated last response only where the server may cut one (an aborted stream); after the
// client closes, the server releases the connection (no leak, no hang).
import CLinux
import Glibc
import Synchronization
import TollgateHTTP
import TollgateIO
import TollgateCore
import FuzzSupport

let trace = getenv("FUZZ_CONN_TRACE") != nil

func traceLine(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

// MARK: - The server (one per profile, started once per process)

final class Servers: @unchecked Sendable {
    // Only touched from the fuzzer's thread.
    private var byProfile: [Int: HTTPServer] = [:]
    private var groups: [EventLoopGroup] = []

    func server(profile: Int) -> HTTPServer {
        if let server = byProfile[profile] { return server }
        var options = HTTPServerOptions()
        options.host = "127.0.0.1"
        options.port = 0
        options.workers = 1
        if profile & 1 != 0 {
            options.limits = HTTPParserLimits(maxHeader: 256, maxRequestLine: 64, maxHeaderCount: 6, maxFieldLine: 128,
                                              maxBody: 4096, maxChunkExtension: 8)
        }
        if profile & 2 != 0 {
            options.highWaterMark = 2048
            options.lowWaterMark = 512
        }
        // Deadlines short enough that a stalled input ends quickly, long enough not to race
        // the fuzzer's own waits.
        options.headerTimeout = 400_000_000
        options.bodyTimeout = 400_000_000
        options.idleTimeout = 400_000_000
        options.lingerTimeout = 100_000_000
        let group = try! EventLoopGroup(count: 1)
        let server = try! HTTPServer(group: group, options: options) { loop in FuzzResponder(loop: loop) }
        group.start()
        _ = try! server.start()
        groups.append(group)
        byProfile[profile] = server
        return server
    }
}

let servers = Servers()

// MARK: - Running one input

struct Client {
    let fd: Int32
    var received: [UInt8] = []
    var eof = false

    /// Reads what is there (non-blocking); true if anything arrived or EOF was seen.
    @discardableResult
    mutating func drain() -> Bool {
        var any = false
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !eof {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                received += chunk[0..<n]
                any = true
            } else if n == 0 {
                eof = true
                any = true
            } else {
                if errno == EINTR { continue }
                if errno != EAGAIN && errno != EWOULDBLOCK { eof = true }
                break
            }
        }
        return any
    }

    /// Waits up to `millis` for the socket to become readable.
    func waitReadable(millis: Int32) {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, millis)
    }
}

func unreadBytes(_ fd: Int32) -> Int32 {
    var count: Int32 = 0
    return ioctl(fd, UInt(FIONREAD), &count) == 0 ? count : 0
}

func runInput(_ data: UnsafeRawBufferPointer) {
    guard data.count >= 2 else { return }
    let profile = Int(data[0])
    let k = Int(data[1]) % 8 + 1
    guard data.count >= 2 + k else { return }
    let sizes = (0..<k).map { Int(data[2 + $0]) + 1 }
    let stream = UnsafeRawBufferPointer(rebasing: data[(2 + k)...])
    let readAtEnd = profile & 4 != 0
    let halfClose = profile & 8 == 0
    let server = servers.server(profile: profile & 3)

    var fds: [Int32] = [0, 0]
    precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
    let serverFD = fds[1]
    _ = fcntl(serverFD, F_SETFL, fcntl(serverFD, F_GETFL) | O_NONBLOCK)
    _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
    var client = Client(fd: fds[0])
    server.adopt(serverFD)

    var offset = 0
    var fragment = 0
    sending: while offset < stream.count && !client.eof {
        let size = min(sizes[fragment % sizes.count], stream.count - offset)
        fragment += 1
        var written = 0
        let start = tg_monotonic_ns()
        while written < size {
            let n = send(client.fd, stream.baseAddress! + offset + written, size - written, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            if n > 0 { written += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                // The server stopped reading (a paused body, a full response queue): read
                // its answers so it can go on, but give up on a peer that stays stuck.
                if !readAtEnd { client.drain() }
                if tg_monotonic_ns() - start > 200_000_000 { break sending }
                client.waitReadable(millis: 1)
                continue
            }
            break sending  // EPIPE/ECONNRESET: the server closed
        }
        offset += size
        // Let the server read exactly this fragment before the next one arrives.
        let waitStart = tg_monotonic_ns()
        while unreadBytes(serverFD) > 0 && tg_monotonic_ns() - waitStart < 5_000_000 {
            if !readAtEnd { client.drain() }
            sched_yield()
        }
        if !readAtEnd { client.drain() }
    }
    if halfClose { shutdown(client.fd, Int32(SHUT_WR)) }
    // Read until the server closes, or nothing arrives for a while.
    var quietSince = tg_monotonic_ns()
    while !client.eof && tg_monotonic_ns() - quietSince < (halfClose ? 500_000_000 : 40_000_000) {
        if client.drain() { quietSince = tg_monotonic_ns() }
        client.waitReadable(millis: 5)
    }
    let sawEOF = client.eof
    close(client.fd)

    // The server must let go of the connection once the client is gone.
    let closeStart = tg_monotonic_ns()
    while server.connectionCount > 0 {
        precondition(tg_monotonic_ns() - closeStart < 3_000_000_000, "connection not released 3 s after the client closed")
        var pfd = pollfd(fd: -1, events: 0, revents: 0)
        _ = poll(&pfd, 0, 1)
    }
    if trace {
        traceLine("profile \(profile) sizes \(sizes) sent \(offset)/\(stream.count) eof \(sawEOF)")
        traceLine(String(decoding: client.received.prefix(4000), as: UTF8.self))
    }
    let heads = requestMethods(UnsafeRawBufferPointer(rebasing: stream[0..<offset]),
                               limits: server.options.limits)
    var checker = ResponseChecker(bytes: client.received, complete: sawEOF, methods: heads)
    checker.check()
}

/// The methods of the request heads in what was sent, as the server's own parser frames
/// them: the n-th final response answers the n-th of these (one more may follow: the answer
/// to a request refused before its head was complete).
func requestMethods(_ sent: UnsafeRawBufferPointer, limits: HTTPParserLimits) -> [HTTPMethod] {
    var parser = HTTPRequestParser(limits: limits)
    var methods: [HTTPMethod] = []
    var start = 0
    while true {
        guard let step = try? parser.next(UnsafeRawBufferPointer(rebasing: sent[start...])) else { return methods }
        start += step.consumed
        switch step.event {
        case .needMore: return methods
        case .head(let head): methods.append(head.method)
        case .body, .end: break
        }
    }
}

// MARK: - Response stream invariants

struct ResponseChecker {
    let bytes: [UInt8]
    /// The server closed the connection (EOF was read).
    let complete: Bool
    let methods: [HTTPMethod]
    var i = 0
    var finals = 0

    init(bytes: [UInt8], complete: Bool, methods: [HTTPMethod]) {
        self.bytes = bytes
        self.complete = complete
        self.methods = methods
    }

    mutating func line() -> String? {
        var j = i
        while j + 1 < bytes.count {
            if bytes[j] == 0x0D && bytes[j + 1] == 0x0A {
                let text = String(decoding: bytes[i..<j], as: UTF8.self)
                i = j + 2
                return text
            }
            precondition(bytes[j] != 0x0A, "bare LF in a response head")
            j += 1
        }
        return nil
    }

    mutating func check() {
        var closed = false
        while i < bytes.count {
            precondition(!closed, "bytes after a `connection: close` response")
            let start = i
            guard let status = line() else { return truncated("status line", at: start) }
            precondition(status.hasPrefix("HTTP/1.1 ") && status.utf8.count >= 12, "bad status line \(status)")
            let code = Int(status.dropFirst(9).prefix(3)) ?? 0
            precondition((100...599).contains(code), "bad status \(status)")
            var length: Int?
            var chunked = false
            var requestID = false
            var connectionClose = false
            while true {
                guard let field = line() else { return truncated("head", at: start) }
                if field.isEmpty { break }
                guard let colon = field.firstIndex(of: ":") else { preconditionFailure("header without colon: \(field)") }
                let name = field[..<colon].lowercased()
                let value = field[field.index(after: colon)...].drop { $0 == " " }
                precondition(!name.isEmpty && !name.contains(" "), "bad header name \(field)")
                switch name {
                case "content-length":
                    precondition(length == nil, "two content-length headers")
                    length = Int(value)
                    precondition(length != nil && length! >= 0, "bad content-length \(value)")
                case "transfer-encoding":
                    precondition(value == "chunked", "transfer-encoding \(value)")
                    chunked = true
                case "x-request-id": requestID = true
                case "connection": connectionClose = value == "close"
                default: break
                }
            }
            precondition(!(chunked && length != nil), "both content-length and chunked")
            if code == 100 { continue }
            precondition(requestID, "response without x-request-id")
            precondition(finals <= methods.count, "\(finals + 1) responses to \(methods.count) requests")
            let isHEAD = finals < methods.count && methods[finals] == .head
            finals += 1
            if isHEAD {
                // RFC 9110 §9.3.2: the same head as for GET, no body.
            } else if let length {
                guard bytes.count - i >= length else { return truncated("declared body", at: start) }
                i += length
            } else if chunked {
                while true {
                    guard let sizeLine = line() else { return truncated("chunk size", at: start, streamed: true) }
                    guard let size = Int(sizeLine, radix: 16), size >= 0 else { preconditionFailure("bad chunk size \(sizeLine)") }
                    if size == 0 {
                        guard let end = line() else { return truncated("last chunk", at: start, streamed: true) }
                        precondition(end.isEmpty, "trailer after the last chunk: \(end)")
                        break
                    }
                    guard bytes.count - i >= size + 2 else { return truncated("chunk", at: start, streamed: true) }
                    i += size
                    precondition(bytes[i] == 0x0D && bytes[i + 1] == 0x0A, "chunk not followed by CRLF")
                    i += 2
                }
            } else if code != 204 && code != 304 {
                // Close-delimited (HTTP/1.0 stream) or a bodyless answer to HEAD: the rest.
                precondition(connectionClose, "a response without length or chunking that is not close-delimited")
                i = bytes.count
            }
            closed = connectionClose
        }
    }

    func truncated(_ what: String, at start: Int, streamed: Bool = false) {
        // A response cut short is the server's way to end a failed stream (abort), or the
        // client stopped reading before the server was done (no EOF). A declared-length
        // answer or a head cut short at a clean close is a defect.
        if !complete { return }
        if streamed { return }
        preconditionFailure("response truncated in its \(what) at offset \(start) though the server closed cleanly")
    }
}

// MARK: - libFuzzer entry

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConnection(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    runInput(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

// SwiftPM links an executable target with `--defsym main=FuzzConnection_main` (see FuzzSupport).
@_cdecl("FuzzConnection_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzConnection)
}
