// SPDX-License-Identifier: Apache-2.0
// One attempt of a proxied request on one backend: the sink and the body source that the
// adapter reports to and reads from. Each attempt forwards a report only while it is the
// exchange's current, unfinished attempt, so a late or misplaced report (an adapter ending
// inside `invoke`, a timer of an abandoned attempt) is dropped instead of being taken for the
// live attempt's (issue 7 item 5). Loop-confined.
import TollgateBackends
import TollgateIO
import TollgateUpstream
import TollgateCore

final class ProxyAttempt: BackendSink, RequestBodySource {
    /// The backend it runs on (counted in `tollgate_backend_inflight` until it is over).
    let backend: String
    /// How the backend's use is priced (its plan's, fixed when the attempt started).
    let pricing: AttemptPricing
    /// Monotonic nanoseconds when the attempt started (its upstream time counts from here).
    let startedAt: UInt64
    /// Its start → its response head (`tollgate_upstream_ttfb_seconds`), once the head came.
    var ttfbNs: UInt64?
    private let firstByteTimeoutNs: UInt64
    /// The exchange, until the attempt is over. Strong, and dropped by `retire`: the adapter's
    /// call keeps its attempt alive, and a call that outlives its attempt must neither keep
    /// the request alive nor reach it. (A weak reference would cost the exchange a side table.)
    private var owner: ProxyExchange?
    /// The adapter's call, once `invoke` has returned.
    var invocation: (any BackendInvocation)?
    /// When the first-byte clock runs out, once it was started (it starts once).
    private var firstByteDeadline: UInt64?
    /// The clock runs: started, and neither disarmed nor run out.
    private var awaitingFirstByte = false
    /// Its own timer, given by the loop's FirstByteWatch to an attempt still waiting at a tick.
    private var firstByteTimer: TimerToken?

    init(backend: String, pricing: AttemptPricing, startedAt: UInt64, firstByteTimeoutNs: UInt64, owner: ProxyExchange) {
        self.backend = backend
        self.pricing = pricing
        self.startedAt = startedAt
        self.firstByteTimeoutNs = firstByteTimeoutNs
        self.owner = owner
    }

    /// Set when the attempt ended, failed or was abandoned: nothing it reports counts any more.
    var isOver: Bool { owner == nil }

    /// The exchange, while this attempt is its current one and not over.
    private var exchange: ProxyExchange? {
        guard let owner, owner.isCurrent(self) else { return nil }
        return owner
    }

    /// Ends the attempt for good: no report of it counts after this. Cancels the adapter's
    /// call when `cancelCall` (abandoned; an attempt that ended by itself has nothing to stop).
    func retire(loop: EventLoop, cancelCall: Bool) {
        owner = nil
        disarmFirstByteTimer(loop: loop)
        let call = invocation
        invocation = nil
        if cancelCall { call?.cancel() }
    }

    // MARK: - First-byte timer

    /// Starts the backend's `first_byte_timeout` (once): noted with the loop's watch, which
    /// gives the attempt a timer only if it still waits at the watch's next tick.
    func armFirstByteTimer(loop: EventLoop, watch: FirstByteWatch) {
        guard firstByteDeadline == nil, !isOver else { return }
        let (sum, overflow) = loop.now.addingReportingOverflow(firstByteTimeoutNs)
        let deadline = overflow ? UInt64.max : sum
        firstByteDeadline = deadline
        awaitingFirstByte = true
        watch.note(self, deadline: deadline)
    }

    func disarmFirstByteTimer(loop: EventLoop) {
        awaitingFirstByte = false
        if let token = firstByteTimer { loop.cancel(token) }
        firstByteTimer = nil
    }

    /// The watch's tick: a clock still running gets its own timer, or runs out now.
    func firstByteTick(loop: EventLoop) {
        guard awaitingFirstByte, firstByteTimer == nil, let deadline = firstByteDeadline, !isOver else { return }
        if loop.now >= deadline {
            firstByteTimedOut(now: loop.now)
        } else {
            firstByteTimer = loop.schedule(FirstByteTimer(attempt: self), at: deadline)
        }
    }

    /// Called by its FirstByteTimer, or by the watch's tick past the deadline.
    func firstByteTimedOut(now: UInt64) {
        firstByteTimer = nil
        awaitingFirstByte = false
        exchange?.attemptTimedOut(self, now: now)
    }

    /// Its QuotaExtendTimer fired: the exchange extends the lease or cuts the attempt off.
    func quotaTick() {
        exchange?.attemptQuotaTick(self)
    }

    // MARK: - BackendSink

    func backendHead(status: Int, headers: [(String, String)], contentLength: Int?) {
        exchange?.attemptHead(self, status: status, headers: headers, contentLength: contentLength)
    }

    func backendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        exchange?.attemptBody(bytes) ?? false
    }

    func backendEnded(_ report: BackendReport) {
        exchange?.attemptEnded(self, report: report)
    }

    // MARK: - RequestBodySource

    func readBody(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        exchange?.attemptReadBody(into: buffer) ?? .abort
    }

    func bufferedBody() -> [UInt8]? {
        exchange?.attemptBufferedBody()
    }
}
