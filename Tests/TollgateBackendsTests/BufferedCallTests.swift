// SPDX-License-Identifier: Apache-2.0
// BufferedCall against a real HTTP server on loopback (TestServer: /hello, /echo counts the
// body it got, /stream sends N bytes, /slow answers late): the reply collected whole, the cap,
// a streamed request body resumed after `.wouldBlock`, completion never inside `start` and
// never after `cancel`.
import Synchronization
import Testing
import TollgateTestSupport
@testable import TollgateBackends
import TollgateIO
import TollgateUpstream
import TollgateCore

/// What a completion saw; written on the loop, read by the test once `done` is set.
final class ReplyBox: @unchecked Sendable {
    var reply: BufferedReply?
    var calls = 0
    var insideStart = false
    var starting = false
    var call: BufferedCall?
    private let flag = Atomic<Bool>(false)
    func finish() { flag.store(true, ordering: .releasing) }
    var done: Bool { flag.load(ordering: .acquiring) }
}

/// Sets a flag when its timer fires (the end of a wait that must see nothing happen).
final class LaterFlag: TimerHandler, @unchecked Sendable {
    private let flag = Atomic<Bool>(false)
    func timerFired(deadline: UInt64, now: UInt64) { flag.store(true, ordering: .releasing) }
    var fired: Bool { flag.load(ordering: .acquiring) }
}

/// A request body given 1000 bytes at a time with `.wouldBlock` between pieces; it calls
/// `bodyReadable()` from a timer 1 ms later, as a client's next bytes would.
final class SlowProvider: BufferedCallBodyProvider, TimerHandler {
    weak var call: BufferedCall?
    let loop: EventLoop
    let total: Int
    private(set) var sent = 0
    private(set) var blocks = 0
    private var blockNext = false

    init(total: Int, loop: EventLoop) {
        self.total = total
        self.loop = loop
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        guard sent < total else { return .end }
        if blockNext {
            blockNext = false
            blocks += 1
            loop.schedule(self, at: loop.now + 1_000_000)
            return .wouldBlock
        }
        blockNext = true
        let n = min(buffer.count, 1000, total - sent)
        buffer.baseAddress!.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "a"), count: n)
        sent += n
        return .bytes(n)
    }

    func timerFired(deadline: UInt64, now: UInt64) { call?.bodyReadable() }
}

/// Lets a RequestBodySource's `.wouldBlock` end: a timer calls the call's `bodyReadable()`.
final class Resumer: TimerHandler {
    weak var call: BufferedCall?
    func timerFired(deadline: UInt64, now: UInt64) { call?.bodyReadable() }
}

/// Feeds a JobInputEncoder from a pieced client body, resuming from the loop after each block.
final class EncoderProvider: BufferedCallBodyProvider {
    let encoder: JobInputEncoder
    let loop: EventLoop
    let resumer = Resumer()
    private(set) var blocks = 0
    init(encoder: JobInputEncoder, loop: EventLoop) {
        self.encoder = encoder
        self.loop = loop
    }
    func read(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        let chunk = encoder.read(into: buffer)
        if case .wouldBlock = chunk {
            blocks += 1
            loop.schedule(resumer, at: loop.now + 500_000)
        }
        return chunk
    }
}

struct BufferedCallTests {
    /// Starts one call on a fresh client loop against `server`, and waits for its completion.
    private func run(_ request: @escaping @Sendable (String) -> UpstreamRequest, server: TestServer,
                     provider: (@Sendable (EventLoop, BufferedCall?) -> (any BufferedCallBodyProvider)?)? = nil,
                     keep: [String] = []) throws -> ReplyBox {
        let box = ReplyBox()
        try withRunningLoop { loop in
            let url = "http://127.0.0.1:\(server.port)"
            loop.execute {
                let backendLoop = BackendLoop(loop: loop, curlShare: CurlShare())
                let body = provider?(loop, nil)
                box.starting = true
                box.call = BufferedCall.start(request(url), on: backendLoop, keepHeaders: keep, bodyProvider: body) { reply in
                    if box.starting { box.insideStart = true }
                    box.reply = reply
                    box.calls += 1
                    box.finish()
                }
                box.starting = false
                if let slow = body as? SlowProvider { slow.call = box.call }
                if let encoded = body as? EncoderProvider { encoded.resumer.call = box.call }
            }
            #expect(eventually(10) { box.done })
            // A moment more: a second completion would show up here.
            let later = LaterFlag()
            loop.execute { loop.schedule(later, at: loop.now + 20_000_000) }
            #expect(eventually { later.fired })
        }
        return box
    }

    @Test func aReplyIsCollectedWholeAfterStartReturned() throws {
        let server = try TestServer()
        defer { server.stop() }
        let box = try run({ UpstreamRequest(url: $0 + "/hello?there", method: "GET") }, server: server)
        let reply = try #require(box.reply)
        #expect(box.calls == 1 && !box.insideStart)
        #expect(reply.outcome == .completed && reply.status == 200 && reply.isSuccess)
        #expect(String(decoding: reply.body, as: UTF8.self) == "hello there")
        #expect(reply.contentType?.hasPrefix("text/plain") == true)
        #expect(reply.headers.allSatisfy { $0.0 == "content-type" })
    }

    @Test func aReplyOverTheCapIsTooLargeAndEmpty() throws {
        let server = try TestServer()
        defer { server.stop() }
        let box = try run({ UpstreamRequest(url: $0 + "/stream?300000", method: "GET", maxResponseBytes: 100_000) }, server: server)
        let reply = try #require(box.reply)
        #expect(reply.outcome == .tooLarge && reply.body.isEmpty && !reply.isSuccess)
        // Just under the cap is fine.
        let fits = try run({ UpstreamRequest(url: $0 + "/stream?100000", method: "GET", maxResponseBytes: 100_000) }, server: server)
        #expect(fits.reply?.outcome == .completed && fits.reply?.body.count == 100_000)
    }

    @Test func aStreamedBodyResumesAfterWouldBlock() throws {
        let server = try TestServer()
        defer { server.stop() }
        let total = 50_000
        let box = try run({ UpstreamRequest(url: $0 + "/echo", body: .stream(length: nil)) }, server: server,
                          provider: { loop, _ in SlowProvider(total: total, loop: loop) })
        let reply = try #require(box.reply)
        #expect(reply.outcome == .completed && reply.status == 200)
        #expect(String(decoding: reply.body, as: UTF8.self) == "\(total)")
    }

    @Test func aJobInputEncoderStreamsThroughACall() throws {
        let server = try TestServer()
        defer { server.stop() }
        let file = (0..<100_000).map { UInt8($0 % 256) }
        let body = multipartBody([("prompt", nil, nil, Array("say \"hi\"".utf8)), ("audio", "a.wav", nil, file)])
        let expected = "{\"input\":{\"prompt\":\"say \\\"hi\\\"\",\"audio\":\"\(referenceBase64(file))\"}}".utf8.count
        let box = try run({ UpstreamRequest(url: $0 + "/echo", body: .stream(length: nil)) }, server: server,
                          provider: { loop, _ in
                              let source = PiecedBodySource(body, sizes: Array(repeating: 3000, count: 100), blockEvery: true)
                              return EncoderProvider(encoder: try! JobInputEncoder(source: source, format: multipartXYZ), loop: loop)
                          })
        let reply = try #require(box.reply)
        #expect(reply.outcome == .completed && String(decoding: reply.body, as: UTF8.self) == "\(expected)")
    }

    @Test func aRefusedConnectionCompletesAfterStartReturned() throws {
        let server = try TestServer()
        defer { server.stop() }
        // Port 9 (discard) on loopback: nothing listens.
        let box = try run({ _ in UpstreamRequest(url: "http://127.0.0.1:9/x", method: "GET") }, server: server)
        let reply = try #require(box.reply)
        #expect(!box.insideStart && box.calls == 1)
        if case .connectFailed = reply.outcome {} else { Issue.record("outcome \(reply.outcome)") }
        #expect(reply.status == 0 && reply.body.isEmpty)
    }

    @Test func aCancelledCallNeverCompletes() throws {
        let server = try TestServer()
        defer { server.stop() }
        for target in ["/slow?300", "/hello", "refused"] {
            let box = ReplyBox()
            let later = LaterFlag()
            try withRunningLoop { loop in
                let url = target == "refused" ? "http://127.0.0.1:9/" : "http://127.0.0.1:\(server.port)\(target)"
                loop.execute {
                    let backendLoop = BackendLoop(loop: loop, curlShare: CurlShare())
                    let call = BufferedCall.start(UpstreamRequest(url: url, method: "GET"), on: backendLoop) { _ in
                        box.calls += 1
                        box.finish()
                    }
                    if target == "/slow?300" {
                        box.call = call  // cancelled later, while the server is still thinking
                        loop.schedule(Cancel(call), at: loop.now + 20_000_000)
                    } else {
                        call.cancel()
                    }
                    loop.schedule(later, at: loop.now + 600_000_000)
                }
                #expect(eventually(10) { later.fired })
            }
            #expect(!box.done && box.calls == 0, "\(target)")
        }
    }
}

private final class Cancel: TimerHandler {
    let call: BufferedCall
    init(_ call: BufferedCall) { self.call = call }
    func timerFired(deadline: UInt64, now: UInt64) {
        call.cancel()
        #expect(!call.isActive)
    }
}
