// SPDX-License-Identifier: Apache-2.0
// One attempt of a proxied request on one backend: the sink, the body source and the
// first-byte timer that the adapter and the loop report to. Each attempt carries its number
// and forwards a report only while it is the exchange's current, unfinished attempt, so a late
// or misplaced report (an adapter ending inside `invoke`, a timer of an abandoned attempt) is
// dropped instead of being taken for the live attempt's (issue 7 item 5). Loop-confined.
import TollgateBackends
import TollgateIO
import TollgateUpstream
import TollgateCore

final class ProxyAttempt: BackendSink, RequestBodySource, TimerHandler {
    /// 1 for the first candidate, 2 for the next, …
    let number: Int
    /// Weak: the adapter's call keeps its attempt alive, and a call that outlives its request
    /// must not keep the request alive (nor reach it).
    private weak var owner: ProxyExchange?
    /// The adapter's call, once `invoke` has returned.
    var invocation: (any BackendInvocation)?
    /// Set when the attempt ended, failed or was abandoned: nothing it reports counts any more.
    private(set) var isOver = false
    private var firstByteTimer: TimerToken?

    init(number: Int, owner: ProxyExchange) {
        self.number = number
        self.owner = owner
    }

    /// The exchange, while this attempt is its current one and not over.
    private var exchange: ProxyExchange? {
        guard !isOver, let owner, owner.currentAttemptNumber == number else { return nil }
        return owner
    }

    /// Ends the attempt for good: no report of it counts after this. Cancels the adapter's
    /// call when `cancelCall` (abandoned; an attempt that ended by itself has nothing to stop).
    func retire(loop: EventLoop, cancelCall: Bool) {
        isOver = true
        disarmFirstByteTimer(loop: loop)
        let call = invocation
        invocation = nil
        if cancelCall { call?.cancel() }
    }

    // MARK: - First-byte timer

    func armFirstByteTimer(loop: EventLoop, timeout: UInt64) {
        guard firstByteTimer == nil, !isOver else { return }
        firstByteTimer = loop.schedule(self, at: loop.now + timeout)
    }

    func disarmFirstByteTimer(loop: EventLoop) {
        if let token = firstByteTimer { loop.cancel(token) }
        firstByteTimer = nil
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        firstByteTimer = nil
        exchange?.attemptTimedOut(self, now: now)
    }

    // MARK: - BackendSink

    func backendHead(status: Int, headers: [(String, String)], contentLength: Int?) {
        exchange?.attemptHead(self, status: status, headers: headers, contentLength: contentLength)
    }

    func backendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        exchange?.attemptBody(bytes) ?? false
    }

    func backendEnded(outcome: BackendOutcome, usage: TokenUsage, reportedGPUSeconds: Double?, coldStart: Bool) {
        exchange?.attemptEnded(self, outcome: outcome, usage: usage, reportedGPUSeconds: reportedGPUSeconds,
                               coldStart: coldStart)
    }

    // MARK: - RequestBodySource

    func readBody(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        exchange?.attemptReadBody(into: buffer) ?? .abort
    }

    func bufferedBody() -> [UInt8]? {
        exchange?.attemptBufferedBody()
    }
}
