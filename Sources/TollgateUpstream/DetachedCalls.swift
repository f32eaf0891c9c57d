// SPDX-License-Identifier: Apache-2.0
// Calls that outlive the request that started them. A job-based backend (RunPod, Replicate, a
// Gradio queue) whose request is abandoned — failover, a deadline, the client gone — gets its
// job cancelled so it stops billing (SPEC §3); that cancel is an HTTP call of its own, sent
// just as the exchange and its invocation are freed. One DetachedCalls per loop owns each such
// transfer until it ends: answered, failed, or out of time (every call has a total deadline,
// which curl enforces). At most `limit` are held at once, so a burst of abandoned jobs against
// a platform that does not answer cannot pile up transfers without bound. Loop-confined.
public import TollgateIO

public final class DetachedCalls: UpstreamTransferDelegate, TimerHandler {
    /// What became of the calls so far (for logs and metrics).
    public struct Counts: Equatable, Sendable {
        /// Accepted by `start` (queued or running).
        public var started = 0
        /// Answered with a 2xx.
        public var succeeded = 0
        /// Answered with another status: the platform refused the call.
        public var rejected = 0
        /// No answer: connect failure, timeout, broken connection.
        public var failed = 0
        /// Turned away by `start`: the limit was reached, or the body was not known whole.
        public var refused = 0

        public init() {}
    }

    public let limit: Int
    /// The longest a detached call may take, connect included (CURLOPT_TIMEOUT_MS).
    public let timeoutMs: Int
    private let multi: CurlMulti
    /// Accepted and not yet handed to curl (started from the loop, see `start`).
    private var queued: [UpstreamRequest] = []
    private var startTimer: TimerToken?
    private var running: [ObjectIdentifier: UpstreamTransfer] = [:]
    public private(set) var counts = Counts()

    /// - Parameters:
    ///   - limit: calls held at once (queued and running); more are refused.
    ///   - timeoutMs: each call's total deadline; a request's own, if shorter, is kept.
    public init(multi: CurlMulti, limit: Int = 256, timeoutMs: Int = 30_000) {
        self.multi = multi
        self.limit = max(limit, 0)
        self.timeoutMs = max(timeoutMs, 1)
    }

    /// Calls not over yet (queued or running).
    public var outstanding: Int { queued.count + running.count }

    /// Takes `request` over: it is sent and its answer awaited whatever becomes of the caller.
    /// Returns false when it is refused: `limit` calls are outstanding, or its body would have
    /// to be pulled from a caller that may be gone (`.stream`, `.buffered`).
    ///
    /// The transfer starts from the loop at the end of this iteration, never inside the call:
    /// a cancel is usually sent from inside curl's callbacks (a client write failed while
    /// relaying another transfer's body), where libcurl refuses curl_multi_add_handle
    /// (CURLM_RECURSIVE_API_CALL, multi.c), and the caller's own state is mid-change.
    @discardableResult
    public func start(_ request: UpstreamRequest) -> Bool {
        multi.loop.assertInLoop()
        switch request.body {
        case .stream, .buffered:
            counts.refused += 1
            return false
        case .none, .bytes:
            break
        }
        guard outstanding < limit else {
            counts.refused += 1
            return false
        }
        var request = request
        request.totalTimeoutMs = request.totalTimeoutMs > 0 ? min(request.totalTimeoutMs, timeoutMs) : timeoutMs
        request.connectTimeoutMs = min(max(request.connectTimeoutMs, 1), request.totalTimeoutMs)
        // Nobody reads the answer: no headers kept, and a small cap on the body.
        request.responseHeaders = .none
        request.maxResponseBytes = min(request.maxResponseBytes, 64 << 10)
        queued.append(request)
        counts.started += 1
        if startTimer == nil { startTimer = multi.loop.schedule(self, at: multi.loop.now) }
        return true
    }

    public func timerFired(deadline: UInt64, now: UInt64) {
        startTimer = nil
        let requests = queued
        queued = []
        for request in requests {
            let transfer = UpstreamTransfer(request: request, multi: multi, delegate: self)
            // A transfer curl refused at once has already ended (and was counted).
            if !transfer.isFinished { running[ObjectIdentifier(transfer)] = transfer }
        }
    }

    // MARK: - UpstreamTransferDelegate

    public func upstreamHead(_ transfer: UpstreamTransfer, status: Int, headers: [(String, String)]) {}

    public func upstreamBody(_ transfer: UpstreamTransfer, _ bytes: UnsafeRawBufferPointer) -> Bool { true }

    public func upstreamReadBody(_ transfer: UpstreamTransfer, into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        .end  // never asked: bodies are sent whole
    }

    public func upstreamEnded(_ transfer: UpstreamTransfer, outcome: UpstreamOutcome) {
        running[ObjectIdentifier(transfer)] = nil
        switch outcome {
        case .completed, .tooLarge:
            // Answered (an over-long answer too): the status says whether the platform agreed.
            if (200..<300).contains(transfer.status) { counts.succeeded += 1 } else { counts.rejected += 1 }
        case .connectFailed, .tlsFailed, .timedOut, .broken, .cancelled:
            counts.failed += 1
        }
    }
}
