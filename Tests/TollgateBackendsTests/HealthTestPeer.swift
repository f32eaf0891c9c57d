// SPDX-License-Identifier: Apache-2.0
// A real HTTP/1.1 peer on 127.0.0.1 for the health and idle-call tests: it records every request
// (method, path, Authorization, all header lines) and answers each with what the test's closure
// picks — a status and body, a reply that never comes (held until the client gives up), or a
// body far over the probe's cap. One thread per connection, every wait bounded (10 s), joined by
// `stop`. It plays the Hub, a RunPod endpoint, a pod API or a plain server.
import Glibc
import Synchronization
import TollgateIO

struct HealthPeerRequest: Sendable, Equatable {
    var method: String
    var path: String
    /// Header lines as sent, names lowercased.
    var headers: [String: String]
    var authorization: String? { headers["authorization"] }
}

enum HealthPeerReply: Sendable {
    case json(Int, String)
    /// No answer until the client closes (or the peer stops).
    case hang
    /// A 200 whose body is `bytes` long.
    case big(Int)
}

final class HealthTestPeer: Sendable {
    let port: UInt16
    private let listenFD: Int32
    private let state = Mutex<(requests: [HealthPeerRequest], clientCloses: Int, stopped: Bool)>(([], 0, false))
    private let threads = Mutex<[PosixThread]>([])
    private let reply: @Sendable (HealthPeerRequest) -> HealthPeerReply

    init(reply: @escaping @Sendable (HealthPeerRequest) -> HealthPeerReply) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HealthPeerError.setup }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else {
            close(fd)
            throw HealthPeerError.setup
        }
        listenFD = fd
        port = UInt16(bigEndian: address.sin_port)
        self.reply = reply
        spawn { [self] in acceptLoop() }
    }

    var url: String { "http://127.0.0.1:\(port)" }
    var requests: [HealthPeerRequest] { state.withLock { $0.requests } }
    var clientCloses: Int { state.withLock { $0.clientCloses } }

    func stop() {
        let first = state.withLock { s -> Bool in
            defer { s.stopped = true }
            return !s.stopped
        }
        guard first else { return }
        shutdown(listenFD, Int32(SHUT_RDWR))
        while let thread = threads.withLock({ $0.popLast() }) { thread.join() }
    }

    deinit { close(listenFD) }

    private var stopped: Bool { state.withLock { $0.stopped } }

    private func spawn(_ body: @escaping @Sendable () -> Void) {
        let thread = PosixThread(body: body)
        threads.withLock { $0.append(thread) }
        thread.start()
    }

    private func readable(_ fd: Int32, ms: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, ms) > 0
    }

    private func acceptLoop() {
        while !stopped {
            guard readable(listenFD, ms: 20) else { continue }
            let fd = accept(listenFD, nil, nil)
            guard fd >= 0 else { continue }
            spawn { [self] in serve(fd) }
        }
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Serves requests on one connection until the client closes it (keep-alive honoured).
    private func serve(_ fd: Int32) {
        defer { close(fd) }
        let deadline = Self.now() + 10
        var data: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: 4096)
        while !stopped && Self.now() < deadline {
            // A whole head (and its Content-Length body) in `data`?
            if let request = Self.takeRequest(&data) {
                state.withLock { $0.requests.append(request) }
                switch reply(request) {
                case .json(let status, let body):
                    let bytes = Array(body.utf8)
                    let head = "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(bytes.count)\r\n\r\n"
                    guard send(fd, Array(head.utf8) + bytes) else { return }
                case .big(let count):
                    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(count)\r\n\r\n"
                    guard send(fd, Array(head.utf8)) else { return }
                    let chunk = [UInt8](repeating: UInt8(ascii: " "), count: 16_384)
                    var sent = 0
                    while sent < count {
                        guard send(fd, Array(chunk.prefix(count - sent))) else { return }
                        sent += min(chunk.count, count - sent)
                    }
                case .hang:
                    while !stopped && Self.now() < deadline {
                        guard readable(fd, ms: 10) else { continue }
                        if recv(fd, &scratch, scratch.count, 0) <= 0 {
                            state.withLock { $0.clientCloses += 1 }
                            return
                        }
                    }
                    return
                }
                continue
            }
            guard readable(fd, ms: 10) else { continue }
            let n = recv(fd, &scratch, scratch.count, 0)
            if n <= 0 { return }
            data += scratch[0..<n]
        }
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    private static func takeRequest(_ data: inout [UInt8]) -> HealthPeerRequest? {
        guard data.count >= 4 else { return nil }
        var headEnd: Int?
        for i in 0...(data.count - 4) where data[i] == 13 && data[i + 1] == 10 && data[i + 2] == 13 && data[i + 3] == 10 {
            headEnd = i
            break
        }
        guard let end = headEnd else { return nil }
        let lines = String(decoding: data[0..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let requestLine = lines.first.map { $0.split(separator: " ") } ?? []
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop(while: { $0 == " " }))
        }
        let bodyLength = headers["content-length"].flatMap { Int($0) } ?? 0
        guard data.count >= end + 4 + bodyLength else { return nil }
        data.removeFirst(end + 4 + bodyLength)
        return HealthPeerRequest(method: requestLine.count > 0 ? String(requestLine[0]) : "",
                                 path: requestLine.count > 1 ? String(requestLine[1]) : "", headers: headers)
    }
}

enum HealthPeerError: Error { case setup }
