// SPDX-License-Identifier: Apache-2.0
// Boots the gateway's HTTP server and responder on 127.0.0.1 port 0 with a plan whose backends
// are ScriptedBackends, and a small blocking client to talk to it (reads have a deadline, so
// nothing hangs). The usage records the responder produces are kept for the test.
// The client is local to these tests until Tests/TollgateTestSupport holds the shared one.
import CLinux
import Glibc
import Synchronization
import TollgateBackends
@testable import TollgateGateway
import TollgateHTTP
import TollgateIO
import TollgateMetering
import TollgateUpstream
import TollgateCore
import TollgateLimits

/// The usage records, for the test thread.
final class RecordLog: UsageSink, Sendable {
    private let records = Mutex<[UsageRecord]>([])
    func record(_ record: UsageRecord) { records.withLock { $0.append(record) } }
    var snapshot: [UsageRecord] { records.withLock { $0 } }

    /// Waits (polling, bounded) until `count` records arrived.
    func wait(for count: Int, seconds: Double = 5) -> [UsageRecord] {
        poll(seconds: seconds) { self.snapshot.count >= count }
        return snapshot
    }
}

/// Polls `condition` every millisecond until it holds or `seconds` pass; returns whether it held.
@discardableResult
func poll(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = tg_monotonic_ns() + UInt64(seconds * 1e9)
    while !condition() {
        if tg_monotonic_ns() > deadline { return false }
        var none = pollfd(fd: -1, events: 0, revents: 0)
        _ = Glibc.poll(&none, 0, 1)
    }
    return true
}

struct ScriptedBackendSpec: Sendable {
    var name: String
    var scripts: [Script]
    /// `.openai`: the gateway asks it for streamed usage (the include_usage edit).
    var speaksOpenAI = true
    var upstreamModel: String?
    var firstByteTimeoutMs: UInt64 = 5_000
    var costModel: CostModel = .free
}

final class ProxyTestServer: Sendable {
    static let key = "tg-proxy-exchange-test-key"

    let group: EventLoopGroup
    let server: HTTPServer
    let port: UInt16
    let log = ScriptLog()
    let records = RecordLog()

    /// `models`: name → (backend indices in order, attempts).
    init(backends: [ScriptedBackendSpec], models: [(String, [Int], Int)], secrets: [String] = []) throws {
        let plan = GatewayPlan(
            backends: backends.map { spec in
                BackendPlan(name: spec.name,
                            kind: UnavailableKind(name: spec.name, reason: "scripted: replaced by a ScriptedBackend on the loop"),
                            upstreamModel: spec.upstreamModel, firstByteTimeoutNs: spec.firstByteTimeoutMs * 1_000_000,
                            costModel: spec.costModel)
            },
            models: models.map { ModelPlan(name: $0.0, task: .chat, backends: $0.1, attempts: $0.2) },
            users: [UserPlan(name: "tester", allowedModels: nil)],
            keys: [KeyPlan(digest: SHA256.hash(utf8: Self.key), user: 0, keyID: "testkey1")],
            secrets: secrets)
        var options = HTTPServerOptions()
        options.port = 0
        options.workers = 1
        group = try EventLoopGroup(count: 1)
        Curl.initialize()
        let budget = RequestBodyBudget(capacity: 64 << 20)
        let share = CurlShare()
        let (log, records) = (self.log, self.records)
        server = try HTTPServer(group: group, options: options) { loop in
            let responder = GatewayResponder(loop: loop, state: GatewayState(), routes: RouteTable(), plan: plan, sink: records,
                                             bodyBudget: budget, curlShare: share)
            for (index, spec) in backends.enumerated() {
                responder.context.runtime.install(ScriptedBackend(name: spec.name, scripts: spec.scripts, speaksOpenAI: spec.speaksOpenAI, loop: loop, log: log),
                                                  at: index)
            }
            return responder
        }
        group.start()
        port = try server.start().port
    }

    func stop() {
        server.drain(timeout: 2_000_000_000)
        group.stop()
        group.join()
    }

    /// A chat request's body.
    static func chat(model: String = "m", stream: Bool = false, extra: String = "") -> String {
        #"{"model":"\#(model)","stream":\#(stream),"messages":[{"role":"user","content":"hello"}]\#(extra)}"#
    }
}

/// One response as the client saw it.
struct ClientResponse {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    /// The response ended as its framing said (false: the connection closed mid-body).
    var complete: Bool
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking HTTP/1.1 client with a receive deadline.
final class ProxyClient {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: UInt16, timeoutSeconds: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            throw ClientError.connectFailed
        }
    }

    deinit { Glibc.close(fd) }

    enum ClientError: Error { case connectFailed, closed, timeout, malformed }

    /// Sends a POST with the test key.
    func post(_ path: String = "/v1/chat/completions", body: String) {
        let bytes = Array(body.utf8)
        let head = "POST \(path) HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(ProxyTestServer.key)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(bytes.count)\r\n\r\n"
        send(Array(head.utf8) + bytes)
    }

    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                offset += n
            }
        }
    }

    func close() { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    /// Reads more; false at EOF (or a reset).
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { throw ClientError.timeout }
            return false
        }
        if n == 0 { return false }
        buffer += chunk[0..<n]
        return true
    }

    private func line() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 0x0A), i > 0, buffer[i - 1] == 0x0D {
                let text = String(decoding: buffer[0..<(i - 1)], as: UTF8.self)
                buffer.removeFirst(i + 1)
                return text
            }
            guard try fill() else { throw ClientError.closed }
        }
    }

    /// Reads until `marker` has arrived (what came so far, raw).
    func read(until marker: String) throws -> String {
        let pattern = Array(marker.utf8)
        while true {
            if buffer.count >= pattern.count,
               (0...(buffer.count - pattern.count)).contains(where: { buffer[$0..<($0 + pattern.count)].elementsEqual(pattern) }) {
                return String(decoding: buffer, as: UTF8.self)
            }
            guard try fill() else { throw ClientError.closed }
        }
    }

    /// Reads one whole response; a body cut by a close comes back with `complete` false.
    func response() throws -> ClientResponse {
        let statusLine = try line()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw ClientError.malformed }
        var headers: [String: String] = [:]
        while true {
            let field = try line()
            if field.isEmpty { break }
            guard let colon = field.firstIndex(of: ":") else { throw ClientError.malformed }
            headers[field[..<colon].lowercased()] = field[field.index(after: colon)...].trimmingCharacters(in: " ")
        }
        var response = ClientResponse(status: status, headers: headers, body: [], complete: true)
        if let length = headers["content-length"].flatMap(Int.init) {
            while buffer.count < length {
                guard try fill() else { break }
            }
            response.body = Array(buffer.prefix(length))
            response.complete = buffer.count >= length
            buffer.removeFirst(response.body.count)
        } else if headers["transfer-encoding"] == "chunked" {
            do {
                while true {
                    guard let size = Int(try line(), radix: 16) else { throw ClientError.malformed }
                    if size == 0 {
                        _ = try line()
                        break
                    }
                    while buffer.count < size + 2 {
                        guard try fill() else { throw ClientError.closed }
                    }
                    response.body += buffer[0..<size]
                    buffer.removeFirst(size + 2)
                }
            } catch ClientError.closed {
                response.complete = false
            }
        } else {
            while try fill() {}
            response.body = buffer
            buffer = []
        }
        return response
    }

    /// Whether the server closed the connection (EOF) before the deadline.
    func isClosedByServer() -> Bool {
        (try? fill()) == false
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
