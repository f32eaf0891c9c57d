// SPDX-License-Identifier: Apache-2.0
// The RunPod adapter on a real loop: the adapter contract (nothing reported inside `invoke`,
// even for a call refused at once) and the `/health` probe against a loopback peer that answers
// as the reference documents (runpod/docs operation-reference.mdx).
import Glibc
import Synchronization
import Testing
import TollgateTestSupport
import TollgateBackends
import TollgateIO
import TollgateUpstream
import TollgateCore

private final class RunPodTestSink: BackendSink, RequestBodySource, @unchecked Sendable {
    /// Touched on the loop thread only; read by the test after `done` is set.
    var events: [String] = []
    var body: [UInt8] = []
    var invoking = false
    var reportedInsideInvoke = false
    let done = Atomic<Bool>(false)

    func backendHead(status: Int, headers: [(String, String)], contentLength: Int?) { note("head \(status)") }
    func backendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        body.append(contentsOf: bytes)
        return true
    }
    func backendEnded(_ report: BackendReport) {
        note("ended \(report.outcome)")
        done.store(true, ordering: .releasing)
    }
    func readBody(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk { .end }
    func bufferedBody() -> [UInt8]? { [] }

    private func note(_ event: String) {
        if invoking { reportedInsideInvoke = true }
        events.append(event)
    }
}

/// Holds a loop-confined value across the `@Sendable` boundary (used on the loop only).
private final class RunPodLoopBox<Value>: @unchecked Sendable {
    var value: Value?
}

/// A value shared between threads.
private final class RunPodShared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
    func set(_ new: Value) { value.withLock { $0 = new } }
    var get: Value { value.withLock { $0 } }
}

/// Answers one HTTP request on 127.0.0.1 with `reply`, keeping the request's head.
private final class RunPodTestPeer: Sendable {
    let port: UInt16
    private let listener: Int32
    private let head = RunPodShared<String?>(nil)
    private let thread: PosixThread

    init(reply: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard fd >= 0, bound else { throw PeerError.setup }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let replyBytes = Array(reply.utf8)
        let head = self.head
        thread = PosixThread {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 10_000) == 1 else { return }
            let connection = accept(fd, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !received.runPodEnds(with: Array("\r\n\r\n".utf8)) {
                var cpfd = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
                guard poll(&cpfd, 1, 10_000) == 1 else { return }
                let n = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { return }
                received += buffer[0..<n]
            }
            head.set(String(decoding: received, as: UTF8.self))
            _ = replyBytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        thread.start()
    }

    var requestHead: String? { head.get }

    func stop() {
        thread.join()
        close(listener)
    }

    enum PeerError: Error { case setup }
}

extension Array where Element == UInt8 {
    fileprivate func runPodEnds(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }
}

struct RunPodBackendTests {
    private static func options(_ base: String) -> RunPodBackendOptions {
        RunPodBackendOptions(endpoint: BackendEndpoint(name: "rp", baseURL: base, apiKey: "rp-key", connectTimeoutMs: 2_000,
                                                        totalTimeoutMs: 5_000))
    }

    private func invoke(_ call: BackendCall, base: String) throws -> RunPodTestSink? {
        try withRunningLoop { loop in
            let sink = RunPodTestSink()
            let keep = RunPodLoopBox<any BackendInvocation>()
            loop.execute {
                let adapter = RunPodKind(options: Self.options(base)).makeAdapter(on: BackendLoop(loop: loop, curlShare: CurlShare()))
                sink.invoking = true
                keep.value = adapter.invoke(call, body: sink, sink: sink)
                sink.invoking = false
            }
            return eventually { sink.done.load(ordering: .acquiring) } ? sink : nil
        }
    }

    private func call(_ operation: APIOperation, runPath: String = "") -> BackendCall {
        BackendCall(operation: operation, model: "m", upstreamModel: "m", stream: false, bodyLength: 0,
                    requestID: RequestID(prefix: 1, counter: 1), runPath: runPath)
    }

    @Test func chatIsRefusedAfterInvokeReturned() throws {
        let sink = try #require(try invoke(call(.chatCompletions), base: "http://127.0.0.1:9/v2/ep"))
        #expect(!sink.reportedInsideInvoke)
        #expect(sink.events.count == 1 && sink.events[0].hasPrefix("ended connection broken: a runpod backend runs jobs"))
    }

    @Test func anUnknownRunPathIs404AfterInvokeReturned() throws {
        let sink = try #require(try invoke(call(.run, runPath: "/cancel/x"), base: "http://127.0.0.1:9/v2/ep"))
        #expect(!sink.reportedInsideInvoke)
        #expect(sink.events == ["head 404", "ended completed"])
        #expect(String(decoding: sink.body, as: UTF8.self).contains("\"code\":\"not_found\""))
    }

    @Test func aRefusedConnectionFailsAfterInvokeReturned() throws {
        let sink = try #require(try invoke(call(.run), base: "http://127.0.0.1:9/v2/ep"))
        #expect(!sink.reportedInsideInvoke)
        #expect(sink.events.count == 1 && sink.events[0].hasPrefix("ended connect failed"))
    }

    @Test func theHealthProbeReadsTheDocumentedAnswer() throws {
        let body = #"{"jobs":{"completed":1,"failed":5,"inProgress":0,"inQueue":2,"retried":0},"workers":{"idle":1,"running":0}}"#
        let peer = try RunPodTestPeer(reply: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        defer { peer.stop() }
        let result = RunPodShared<RunPodProbeResult?>(nil)
        try withRunningLoop { loop in
            let keep = RunPodLoopBox<BufferedCall>()
            loop.execute {
                let backend = RunPodBackend(options: Self.options("http://127.0.0.1:\(peer.port)/v2/ep1/"),
                                            loop: BackendLoop(loop: loop, curlShare: CurlShare()))
                keep.value = backend.probeHealth { found in result.set(found) }
            }
            #expect(eventually { result.get != nil })
        }
        #expect(result.get == .healthy(RunPodHealth(inQueue: 2, idle: 1)))
        let head = try #require(peer.requestHead)
        #expect(head.hasPrefix("GET /v2/ep1/health HTTP/1.1\r\n"))
        #expect(head.contains("\r\nAuthorization: Bearer rp-key\r\n"))
    }

    @Test func aHealthProbeThatGetsNoHealthObjectSaysSo() throws {
        let peer = try RunPodTestPeer(reply: "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        defer { peer.stop() }
        let result = RunPodShared<RunPodProbeResult?>(nil)
        try withRunningLoop { loop in
            let keep = RunPodLoopBox<BufferedCall>()
            loop.execute {
                let backend = RunPodBackend(options: Self.options("http://127.0.0.1:\(peer.port)"),
                                            loop: BackendLoop(loop: loop, curlShare: CurlShare()))
                keep.value = backend.probeHealth { found in result.set(found) }
            }
            #expect(eventually { result.get != nil })
        }
        #expect(result.get == .badReply(status: 401))
    }
}
