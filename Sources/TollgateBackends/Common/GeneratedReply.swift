// SPDX-License-Identifier: Apache-2.0
// A reply the adapter made itself (a job's result shaped into OpenAI's terms, an error it
// decided on) delivered to the gateway the way a backend's response would be: the head, the
// body in pieces that honour `backendBody` → false until `resumeReceiving()`, then
// `backendEnded(report)`. Every report comes from a loop timer, never from inside `start` or
// `resumeReceiving` (the sink may call either while it is itself being called). Loop-confined.
public import TollgateIO
import TollgateCore

public final class GeneratedReply: BackendInvocation, TimerHandler {
    /// Largest piece handed to `backendBody` at once.
    static let pieceSize = 64 << 10

    private let loop: EventLoop
    private var sink: (any BackendSink)?
    private let status: Int
    private let headers: [(String, String)]
    private let body: [UInt8]
    private let report: BackendReport
    private var sent = 0
    private var headSent = false
    private var started = false
    private var paused = false
    private var timer: TimerToken?

    /// - Parameters:
    ///   - contentType: sent as `content-type` (nil: none).
    ///   - headers: further headers, names lowercase (the adapter's own choice, never a
    ///     platform's unfiltered ones).
    ///   - report: how the call ended, passed to `backendEnded` after the last byte.
    public init(status: Int, contentType: String?, headers: [(String, String)] = [], body: [UInt8],
                report: BackendReport, loop: EventLoop, sink: any BackendSink) {
        self.loop = loop
        self.sink = sink
        self.status = status
        self.headers = (contentType.map { [("content-type", $0)] } ?? []) + headers
        self.body = body
        self.report = report
    }

    /// An OpenAI-shaped JSON error (`JSONText.errorBody`) as the reply.
    public convenience init(errorStatus status: Int, message: String, code: String?, report: BackendReport,
                            loop: EventLoop, sink: any BackendSink) {
        let text = JSONText.errorBody(message: message, type: JSONText.errorType(forStatus: status), code: code)
        self.init(status: status, contentType: "application/json", body: Array(text.utf8), report: report,
                  loop: loop, sink: sink)
    }

    /// Begins delivery from the loop (a zero-delay timer). Once only.
    public func start() {
        guard !started, sink != nil else { return }
        started = true
        schedule()
    }

    /// True until `backendEnded` was delivered or the reply was cancelled.
    public var isActive: Bool { sink != nil }

    // MARK: - BackendInvocation

    public func resumeReceiving() {
        guard paused, sink != nil else { return }
        paused = false
        schedule()
    }

    public func bodyReadable() {}

    public func cancel() {
        sink = nil
        if let timer { loop.cancel(timer) }
        timer = nil
    }

    // MARK: - Delivery

    private func schedule() {
        guard timer == nil else { return }
        timer = loop.schedule(self, at: loop.now)
    }

    public func timerFired(deadline: UInt64, now: UInt64) {
        timer = nil
        guard sink != nil else { return }
        if !headSent {
            headSent = true
            sink?.backendHead(status: status, headers: headers, contentLength: body.count)
        }
        while sent < body.count {
            // The sink may cancel from inside any of its calls: checked after each.
            guard let sink else { return }
            let end = min(sent + Self.pieceSize, body.count)
            let more = body.withUnsafeBytes { sink.backendBody(UnsafeRawBufferPointer(rebasing: $0[sent..<end])) }
            sent = end
            if !more {
                paused = true
                return
            }
        }
        guard let sink else { return }
        self.sink = nil
        sink.backendEnded(report)
    }
}
