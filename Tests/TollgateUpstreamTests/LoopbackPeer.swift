// SPDX-License-Identifier: Apache-2.0
// A real HTTP peer on 127.0.0.1 for the curl layer's tests: a listening socket in the test
// process that reads each request (head and Content-Length body) and answers with raw bytes the
// test chooses, byte for byte — lies, control bytes and early closes included, which no
// well-behaved server library would send. Every wait is bounded (a 10 s deadline), so a test
// that goes wrong fails instead of hanging. Each connection gets its own thread (Dispatch's pool
// adds threads for blocked work only after a delay, which made every exchange take a second).
import Glibc
import Synchronization
import TollgateIO

/// Opened once by the test; a reply waiting on it is sent then.
final class Gate: Sendable {
    private let isOpen = Atomic<Bool>(false)
    func open() { isOpen.store(true, ordering: .releasing) }
    var opened: Bool { isOpen.load(ordering: .acquiring) }
}

/// What the peer answers one request with.
struct PeerReply: Sendable {
    /// Written one after another, each with its own send(2).
    var pieces: [[UInt8]]
    /// Close the connection after the last piece; otherwise keep it open until the client
    /// closes it (which the peer records).
    var closeAfter: Bool
    /// Nothing is sent before this opens (a platform slow to answer, or one that never does).
    var gate: Gate?

    init(_ pieces: [String], closeAfter: Bool = true, gate: Gate? = nil) {
        self.pieces = pieces.map { Array($0.utf8) }
        self.closeAfter = closeAfter
        self.gate = gate
    }

    init(bytes pieces: [[UInt8]], closeAfter: Bool = true, gate: Gate? = nil) {
        self.pieces = pieces
        self.closeAfter = closeAfter
        self.gate = gate
    }
}

final class LoopbackPeer: Sendable {
    struct State {
        /// Each request as received: its head, a blank line, its body.
        var requests: [String] = []
        /// Connections whose client closed them before the peer did.
        var clientCloses = 0
        var stopped = false
    }

    let port: UInt16
    private let listenFD: Int32
    private let state = Mutex(State())
    private let reply: @Sendable (String) -> PeerReply
    /// The accept thread and one thread per connection, joined by `stop`.
    private let threads = Mutex<[PosixThread]>([])
    private static let deadlineSeconds = 10.0

    /// Listens on an ephemeral loopback port; `reply` picks the answer for each request.
    init(reply: @escaping @Sendable (String) -> PeerReply) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PeerError.setup("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw PeerError.setup("bind/listen")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listenFD = fd
        port = UInt16(bigEndian: address.sin_port)
        self.reply = reply
        spawn { [self] in acceptLoop() }
    }

    /// One answer for every request.
    convenience init(always reply: PeerReply) throws {
        try self.init { _ in reply }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    var snapshot: State { state.withLock { $0 } }

    /// Stops accepting and ends every connection (each notices within a poll), then joins
    /// their threads.
    func stop() {
        let first = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        shutdown(listenFD, Int32(SHUT_RDWR))
        // Joined until none is left: the accept thread may add one while the first are joined.
        while let thread = threads.withLock({ $0.popLast() }) { thread.join() }
    }

    private func spawn(_ body: @escaping @Sendable () -> Void) {
        let thread = PosixThread(body: body)
        threads.withLock { $0.append(thread) }
        thread.start()
    }

    deinit {
        close(listenFD)
    }

    private var stopped: Bool { state.withLock { $0.stopped } }

    private func acceptLoop() {
        while !stopped {
            guard wait(listenFD, for: Int16(POLLIN), ms: 50) else { continue }
            let fd = accept(listenFD, nil, nil)
            guard fd >= 0 else { continue }
            spawn { [self] in serve(fd) }
        }
    }

    /// poll(2) for `events` on `fd`, up to `ms`.
    private func wait(_ fd: Int32, for events: Int16, ms: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        return poll(&entry, 1, ms) > 0
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        let deadline = Self.now() + Self.deadlineSeconds
        guard let request = readRequest(fd, deadline: deadline) else { return }
        state.withLock { $0.requests.append(request) }
        let answer = reply(request)
        if let gate = answer.gate {
            while !gate.opened {
                if stopped || Self.now() > deadline { return }
                // Readable while waiting means the client closed: a call given up on.
                if wait(fd, for: Int16(POLLIN), ms: 5) {
                    var byte: UInt8 = 0
                    if recv(fd, &byte, 1, 0) <= 0 {
                        state.withLock { $0.clientCloses += 1 }
                        return
                    }
                }
            }
        }
        for piece in answer.pieces {
            var sent = 0
            while sent < piece.count {
                let n = piece.withUnsafeBytes { send(fd, $0.baseAddress! + sent, piece.count - sent, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                sent += n
            }
        }
        if answer.closeAfter { return }
        // Held open: wait for the client to close (EOF or reset), and say so.
        var scratch = [UInt8](repeating: 0, count: 4096)
        while !stopped && Self.now() < deadline {
            guard wait(fd, for: Int16(POLLIN), ms: 20) else { continue }
            if scratch.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, 0) }) <= 0 {
                state.withLock { $0.clientCloses += 1 }
                return
            }
        }
    }

    /// The request head and as much body as its Content-Length says.
    private func readRequest(_ fd: Int32, deadline: Double) -> String? {
        var data: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: 4096)
        let separator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        var bodyLength = 0
        while Self.now() < deadline && !stopped {
            if let end = headEnd, data.count >= end + bodyLength { break }
            guard wait(fd, for: Int16(POLLIN), ms: 20) else { continue }
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            data += scratch[0..<n]
            if headEnd == nil, data.count >= 4,
               let at = (0...(data.count - 4)).first(where: { Array(data[$0..<($0 + 4)]) == separator }) {
                headEnd = at + 4
                let head = String(decoding: data[0..<at], as: UTF8.self).lowercased()
                for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    bodyLength = Int(line.dropFirst("content-length:".count).trimmingSpaces) ?? 0
                }
            }
        }
        guard let end = headEnd, data.count >= end + bodyLength else { return nil }
        return String(decoding: data[0..<(end + bodyLength)], as: UTF8.self)
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

enum PeerError: Error {
    case setup(String)
}

private extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
