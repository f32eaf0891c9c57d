// SPDX-License-Identifier: Apache-2.0
// GeneratedReply: an adapter-made reply reaches the sink as a backend's would — head, body in
// pieces honouring `backendBody` → false until `resumeReceiving()`, then the report — and never
// from inside `start`.
import Synchronization
import Testing
import TollgateTestSupport
@testable import TollgateBackends
import TollgateIO
import TollgateUpstream
import TollgateCore

/// Records the sink calls; pauses after every body piece when asked, resuming from a timer.
final class RecordingSink: BackendSink, TimerHandler, @unchecked Sendable {
    var events: [String] = []
    var head: (Int, [(String, String)], Int?)?
    var body: [UInt8] = []
    var report: BackendReport?
    var calledInsideStart = false
    var starting = false
    var pauses = 0
    var pauseEveryPiece = false
    var cancelAfterFirstPiece = false
    var reply: GeneratedReply?
    let loop: EventLoop
    private let flag = Atomic<Bool>(false)
    var ended: Bool { flag.load(ordering: .acquiring) }

    init(loop: EventLoop) { self.loop = loop }

    func backendHead(status: Int, headers: [(String, String)], contentLength: Int?) {
        if starting { calledInsideStart = true }
        head = (status, headers, contentLength)
        events.append("head")
    }

    func backendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if starting { calledInsideStart = true }
        body += bytes
        events.append("body")
        if cancelAfterFirstPiece {
            reply?.cancel()
            return true
        }
        guard pauseEveryPiece else { return true }
        pauses += 1
        loop.schedule(self, at: loop.now + 200_000)
        return false
    }

    func backendEnded(_ report: BackendReport) {
        if starting { calledInsideStart = true }
        self.report = report
        events.append("ended")
        flag.store(true, ordering: .releasing)
    }

    func timerFired(deadline: UInt64, now: UInt64) { reply?.resumeReceiving() }
}

struct GeneratedReplyTests {
    private func deliver(body: [UInt8], pause: Bool = false, cancelEarly: Bool = false,
                         make: (@Sendable (EventLoop, RecordingSink) -> GeneratedReply)? = nil) throws -> RecordingSink {
        try withRunningLoop { loop in
            let sink = RecordingSink(loop: loop)
            sink.pauseEveryPiece = pause
            sink.cancelAfterFirstPiece = cancelEarly
            let later = LaterFlag()
            loop.execute {
                let reply = make?(loop, sink) ?? GeneratedReply(
                    status: 200, contentType: "application/json", headers: [("x-job", "j1")], body: body,
                    report: BackendReport(outcome: .completed, gpuTime: .reported(MilliGPUSeconds(1500))),
                    loop: loop, sink: sink)
                sink.reply = reply
                sink.starting = true
                reply.start()
                reply.start()  // once only
                sink.starting = false
            }
            if cancelEarly {
                loop.execute { loop.schedule(later, at: loop.now + 50_000_000) }
                #expect(eventually { later.fired })
            } else {
                #expect(eventually { sink.ended })
                // Nothing after the end.
                loop.execute { loop.schedule(later, at: loop.now + 10_000_000) }
                #expect(eventually { later.fired })
            }
            return sink
        }
    }

    @Test func aReplyIsDeliveredWholeFromTheLoop() throws {
        let body = Array("{\"text\":\"hello\"}".utf8)
        let sink = try deliver(body: body)
        #expect(!sink.calledInsideStart)
        #expect(sink.events == ["head", "body", "ended"])
        #expect(sink.head?.0 == 200 && sink.head?.2 == body.count)
        #expect(sink.head?.1.map { "\($0.0)=\($0.1)" } == ["content-type=application/json", "x-job=j1"])
        #expect(sink.body == body)
        #expect(sink.report?.outcome == .completed && sink.report?.gpuTime == .reported(MilliGPUSeconds(1500)))
    }

    @Test func aPausedSinkIsWaitedFor() throws {
        let body = (0..<(GeneratedReply.pieceSize * 3 + 100)).map { UInt8(truncatingIfNeeded: $0) }
        let sink = try deliver(body: body, pause: true)
        #expect(sink.events == ["head", "body", "body", "body", "body", "ended"])
        #expect(sink.pauses == 4 && sink.body == body)
    }

    @Test func anEmptyBodyIsHeadThenEnd() throws {
        let sink = try deliver(body: [])
        #expect(sink.events == ["head", "ended"] && sink.head?.2 == 0)
    }

    @Test func aCancelledReplyStops() throws {
        let body = [UInt8](repeating: 1, count: GeneratedReply.pieceSize * 2)
        let sink = try deliver(body: body, cancelEarly: true)
        #expect(sink.events == ["head", "body"])
        #expect(sink.report == nil)
    }

    @Test func anErrorReplyIsOpenAIShaped() throws {
        let sink = try deliver(body: []) { loop, sink in
            GeneratedReply(errorStatus: 400, message: "form field 'x' is \"bad\"", code: "invalid_request",
                           report: BackendReport(outcome: .completed), loop: loop, sink: sink)
        }
        #expect(sink.head?.0 == 400)
        #expect(String(decoding: sink.body, as: UTF8.self)
            == "{\"error\":{\"message\":\"form field 'x' is \\\"bad\\\"\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"invalid_request\"}}")
    }
}
