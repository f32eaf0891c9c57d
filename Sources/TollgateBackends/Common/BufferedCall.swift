// SPDX-License-Identifier: Apache-2.0
// One upstream request whose whole reply the adapter needs before it can act: a job submit, a
// status poll, a result fetch, an upload. The reply is collected up to the request's
// `maxResponseBytes` (over it: outcome `.tooLarge`, with what came so far dropped) and handed to
// the completion on the loop, from a zero-delay timer — never inside `start`, and never from
// inside curl's own callbacks, so a completion may start the next call at once. Loop-confined.
public import TollgateIO
public import TollgateUpstream

/// Gives a streamed request body (`UpstreamBody.stream` / `.buffered`) to a BufferedCall.
public protocol BufferedCallBodyProvider: AnyObject {
    /// Copies the next bytes into `buffer`; `.wouldBlock` until more is there, then the owner
    /// calls `BufferedCall.bodyReadable()`.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk
}

public final class BufferedCall: UpstreamTransferDelegate, TimerHandler {
    /// Takes each piece of the reply body into the collected body: a caller that must not
    /// hold part of a reply (Replicate's echo of an uploaded file) drops it as it streams.
    public typealias ReplyFilter = (UnsafeRawBufferPointer, inout [UInt8]) -> Void

    private var transfer: UpstreamTransfer?
    private let replyFilter: ReplyFilter?
    private var completion: ((BufferedReply) -> Void)?
    private var provider: (any BufferedCallBodyProvider)?
    private let loop: EventLoop
    private let cap: Int
    private var status = 0
    private var headers: [(String, String)] = []
    private var body: [UInt8] = []
    private var reply: BufferedReply?
    private var timer: TimerToken?

    /// Starts `request` on `loop`'s multi handle. The reply's headers are `content-type` plus `keepHeaders`
    /// (any case; the request's own allowlist is replaced). The request body is `request.body`:
    /// `.none` or `.bytes` as they are, `.stream` / `.buffered` pulled from `bodyProvider`.
    /// `completion` runs once, on the loop, after `start` returned — unless `cancel()` ran first.
    @discardableResult
    public static func start(_ request: UpstreamRequest, on loop: BackendLoop, keepHeaders: [String] = [],
                             bodyProvider: (any BufferedCallBodyProvider)? = nil, replyFilter: ReplyFilter? = nil,
                             completion: @escaping (BufferedReply) -> Void) -> BufferedCall {
        BufferedCall(request, on: loop, keepHeaders: keepHeaders, bodyProvider: bodyProvider, replyFilter: replyFilter,
                     completion: completion)
    }

    private init(_ request: UpstreamRequest, on backendLoop: BackendLoop, keepHeaders: [String],
                 bodyProvider: (any BufferedCallBodyProvider)?, replyFilter: ReplyFilter?,
                 completion: @escaping (BufferedReply) -> Void) {
        loop = backendLoop.eventLoop
        self.replyFilter = replyFilter
        cap = max(request.maxResponseBytes, 0)
        self.completion = completion
        provider = bodyProvider
        var request = request
        request.responseHeaders = UpstreamHeaderAllowlist(["content-type"] + keepHeaders.filter { $0.lowercased() != "content-type" })
        switch request.body {
        case .stream, .buffered:
            // Nothing to pull from: an empty body rather than a read callback that never ends.
            if bodyProvider == nil { request.body = .bytes([]) }
        case .none, .bytes:
            break
        }
        let transfer = UpstreamTransfer(request: request, multi: backendLoop.multi, delegate: self)
        // A transfer curl refused at once has already ended (and its reply is waiting).
        if !transfer.isFinished { self.transfer = transfer }
    }

    /// A call that ends with `reply` without sending anything (a URL or header the caller's
    /// policy turned down): delivered like any reply — once, on the loop, after this returned —
    /// unless cancelled first.
    public static func finished(_ reply: BufferedReply, on loop: BackendLoop,
                                completion: @escaping (BufferedReply) -> Void) -> BufferedCall {
        BufferedCall(finished: reply, on: loop, completion: completion)
    }

    private init(finished: BufferedReply, on backendLoop: BackendLoop, completion: @escaping (BufferedReply) -> Void) {
        loop = backendLoop.eventLoop
        replyFilter = nil
        cap = 0
        self.completion = completion
        reply = finished
        // Zero delay, as for a transfer curl refused at once.
        timer = loop.schedule(self, at: loop.now)
    }

    /// True until the completion ran or the call was cancelled.
    public var isActive: Bool { completion != nil }

    /// More request body is available after the provider said `.wouldBlock` (or it ended).
    public func bodyReadable() {
        transfer?.resumeSending()
    }

    /// Stops the call now (closing its connection); the completion is never called.
    public func cancel() {
        completion = nil
        provider = nil
        if let timer { loop.cancel(timer) }
        timer = nil
        reply = nil
        let transfer = self.transfer
        self.transfer = nil
        transfer?.cancel()
    }

    // MARK: - UpstreamTransferDelegate

    public func upstreamHead(_ transfer: UpstreamTransfer, status: Int, headers: [(String, String)]) {
        self.status = status
        self.headers = headers
        // Room for a declared length up front (it is at most `cap`: the transfer refuses more).
        if let length = transfer.contentLength, length <= cap { body.reserveCapacity(length) }
    }

    public func upstreamBody(_ transfer: UpstreamTransfer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        // The transfer aborts itself past `maxResponseBytes` (outcome `.tooLarge`), counted
        // before any filter.
        if let replyFilter { replyFilter(bytes, &body) } else { body.append(contentsOf: bytes) }
        return true
    }

    public func upstreamReadBody(_ transfer: UpstreamTransfer, into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        provider?.read(into: buffer) ?? .abort
    }

    public func upstreamEnded(_ transfer: UpstreamTransfer, outcome: UpstreamOutcome) {
        self.transfer = nil
        provider = nil
        guard completion != nil else { return }
        let kept = outcome == .completed
        reply = BufferedReply(status: status, headers: headers, body: kept ? body : [], outcome: outcome)
        body = []
        // Zero delay: delivered at the end of this loop iteration, outside `start` and curl.
        timer = loop.schedule(self, at: loop.now)
    }

    public func timerFired(deadline: UInt64, now: UInt64) {
        timer = nil
        guard let reply, let completion else { return }
        self.reply = nil
        self.completion = nil
        completion(reply)
    }
}
