// SPDX-License-Identifier: Apache-2.0
// One create or poll request whose reply is a prediction object: like BufferedCall (the reply
// collected whole, up to the request's `maxResponseBytes`, and handed over from a zero-delay
// loop timer, never inside `start` or curl's callbacks), except that the reply streams through
// ReplicateInputDropper, so the echoed `input` — possibly a whole uploaded file — is never held.
// Loop-confined.
import TollgateIO
import TollgateUpstream

final class ReplicatePredictionCall: UpstreamTransferDelegate, TimerHandler {
    private var transfer: UpstreamTransfer?
    private var completion: ((BufferedReply) -> Void)?
    private var provider: (any BufferedCallBodyProvider)?
    private let loop: EventLoop
    private var status = 0
    private var headers: [(String, String)] = []
    private var body: [UInt8] = []
    private var dropper = ReplicateInputDropper()
    private var reply: BufferedReply?
    private var timer: TimerToken?

    /// Starts `request` (its body from `bodyProvider` when streamed); keeps `content-type` and
    /// `retry-after`. `completion` runs once, on the loop, unless `cancel()` ran first.
    init(_ request: UpstreamRequest, on backendLoop: BackendLoop, bodyProvider: (any BufferedCallBodyProvider)?,
         completion: @escaping (BufferedReply) -> Void) {
        loop = backendLoop.eventLoop
        self.completion = completion
        provider = bodyProvider
        var request = request
        request.responseHeaders = UpstreamHeaderAllowlist(["content-type", "retry-after"])
        if bodyProvider == nil, case .stream = request.body { request.body = .bytes([]) }
        let transfer = UpstreamTransfer(request: request, multi: backendLoop.multi, delegate: self)
        if !transfer.isFinished { self.transfer = transfer }
    }

    var isActive: Bool { completion != nil }

    func bodyReadable() {
        transfer?.resumeSending()
    }

    func cancel() {
        completion = nil
        provider = nil
        if let timer { loop.cancel(timer) }
        timer = nil
        reply = nil
        let transfer = self.transfer
        self.transfer = nil
        transfer?.cancel()
    }

    func upstreamHead(_ transfer: UpstreamTransfer, status: Int, headers: [(String, String)]) {
        self.status = status
        self.headers = headers
    }

    func upstreamBody(_ transfer: UpstreamTransfer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        // The transfer aborts itself past `maxResponseBytes` (counted before the drop).
        dropper.feed(bytes, into: &body)
        return true
    }

    func upstreamReadBody(_ transfer: UpstreamTransfer, into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        provider?.read(into: buffer) ?? .abort
    }

    func upstreamEnded(_ transfer: UpstreamTransfer, outcome: UpstreamOutcome) {
        self.transfer = nil
        provider = nil
        guard completion != nil else { return }
        reply = BufferedReply(status: status, headers: headers, body: outcome == .completed ? body : [], outcome: outcome)
        body = []
        timer = loop.schedule(self, at: loop.now)
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        timer = nil
        guard let reply, let completion else { return }
        self.reply = nil
        self.completion = nil
        completion(reply)
    }
}
