// SPDX-License-Identifier: Apache-2.0
// One call of a pass-through kind (openai, http, modal): the client's request goes on as one
// upstream HTTP exchange and the reply streams back as it arrives. Two things a kind may add:
// - same-origin 303s followed with GET (Modal answers a call that outlives its 150 s limit with
//   303 See Other to the endpoint's own URL, re-sent while the result is pending:
//   modal.com/docs/guide/webhook-timeouts; the follow-up must be a GET, RFC 9110 §15.4.4);
// - a reply collected whole (bounded) and reshaped before the client sees it (a diarization
//   reply into SPEC §3's object).
import TollgateIO
import TollgateUpstream
import TollgateCore

/// The 303s a call may follow: to its own origin only (SPEC §7), with the request's headers
/// (the template's fixed list: credentials, Modal-Key/Modal-Secret), at most `maxHops`.
struct RedirectFollowing {
    /// A GET with the backend's fixed headers, no Content-Type; its URL is set per hop.
    var template: UpstreamRequest
    var maxHops: Int
}

/// A reply that is read whole and rewritten: `shape` turns a 2xx body into the client's body
/// (nil: the backend's reply does not have what the route needs).
struct ReplyShaping {
    /// Replies larger than this fail (`tooLarge`): the collected copy is bounded.
    var maxBytes: Int
    var contentType: String
    var shape: ([UInt8]) -> [UInt8]?
    /// The message when `shape` gives nil (a 502 `bad_gateway`).
    var unshapeable: String
}

final class PassThroughCall: UpstreamTransferDelegate, BackendInvocation, TimerHandler {
    private var transfer: UpstreamTransfer?
    private var sink: (any BackendSink)?
    private let body: any RequestBodySource
    private let multi: CurlMulti
    private var usage = UsageScanner()
    /// True while the transfer is being started: an end reported then (curl_multi_add_handle
    /// failed) is held and delivered from the loop, never inside `invoke`.
    private var starting = true
    private var heldOutcome: UpstreamOutcome?

    private let accept: String?
    private let requestID: RequestID
    /// The call's start (loop clock): what a leg after a redirect may still spend, and the
    /// measured time when the kind reports it.
    private let startedAt: UInt64
    private let totalTimeoutMs: Int
    private let reportsMeasuredTime: Bool

    private let redirects: RedirectFollowing?
    /// The URL of the current leg (what a relative Location resolves against).
    private var currentURL: RedirectTarget?
    private var hops = 0
    /// A followable 303 arrived: the next leg's URL, started once this leg has ended.
    private var nextURL: RedirectTarget?
    private var nextLegDue = false

    private let shaping: ReplyShaping?
    private var collected: [UInt8] = []
    private var collectedHead: (status: Int, headers: [(String, String)])?
    /// A generated reply the sink paused: its end waits for `resumeReceiving()`.
    private var endAfterResume: BackendReport?

    init(template: borrowing UpstreamRequest, accept: String?, requestID: RequestID, body upstreamBody: UpstreamBody,
         multi: CurlMulti, bodySource body: any RequestBodySource, sink: any BackendSink,
         redirects: RedirectFollowing? = nil, shaping: ReplyShaping? = nil, reportsMeasuredTime: Bool = false) {
        self.sink = sink
        self.body = body
        self.multi = multi
        self.accept = accept
        self.requestID = requestID
        self.redirects = redirects
        self.shaping = shaping
        self.reportsMeasuredTime = reportsMeasuredTime
        self.totalTimeoutMs = template.totalTimeoutMs
        self.startedAt = multi.loop.now
        if redirects != nil { currentURL = RedirectTarget(absolute: template.url) }
        let transfer = UpstreamTransfer(template: template, accept: accept, requestID: requestID, body: upstreamBody,
                                        multi: multi, delegate: self)
        starting = false
        if heldOutcome != nil {
            // Zero delay: the end is reported at the end of this loop iteration.
            multi.loop.schedule(self, at: multi.loop.now)
        } else {
            self.transfer = transfer
        }
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        if let outcome = heldOutcome {
            heldOutcome = nil
            report(outcome)
        } else if nextLegDue {
            nextLegDue = false
            startNextLeg()
        }
    }

    func upstreamHead(_ transfer: UpstreamTransfer, status: Int, headers: [(String, String)]) {
        guard !starting, sink != nil else { return }
        if status == 303, let redirects, hops < redirects.maxHops, let target = followable(headers) {
            // The 303's own body (if any) is dropped; the leg's end starts the next one.
            nextURL = target
            return
        }
        // Retry-After belongs to a 4xx the client gets as-is (SPEC §3); on a 5xx or 429 the
        // gateway decides, and on a success it means nothing. A Location names the backend's
        // own URLs: it is read here, never passed on.
        let keepsRetryAfter = (400..<500).contains(status)
        let passed = headers.filter { $0.0 != "location" && (keepsRetryAfter || $0.0 != "retry-after") }
        if shaping != nil && (200..<300).contains(status) {
            collectedHead = (status, passed)
            return
        }
        sink?.backendHead(status: status, headers: passed, contentLength: transfer.contentLength)
    }

    /// The resolved Location of a 303 when it stays on the backend's origin.
    private func followable(_ headers: [(String, String)]) -> RedirectTarget? {
        guard let current = currentURL, let location = headers.first(where: { $0.0 == "location" })?.1,
              let target = current.resolving(location), OriginPolicy.isSameOrigin(current.url, target.url) else { return nil }
        return target
    }

    func upstreamBody(_ transfer: UpstreamTransfer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !starting else { return false }
        if nextURL != nil { return true }
        if collectedHead != nil {
            // Bounded by the request's maxResponseBytes (the shaping's cap).
            collected.append(contentsOf: bytes)
            return true
        }
        usage.scan(bytes)
        return sink?.backendBody(bytes) ?? false
    }

    /// Also called while the transfer starts: a `.buffered` body is taken then (reading is no
    /// report; the gateway's body is complete and the attempt is current during `invoke`).
    func upstreamReadBody(_ transfer: UpstreamTransfer, into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        body.readBody(into: buffer)
    }

    func upstreamEnded(_ transfer: UpstreamTransfer, outcome: UpstreamOutcome) {
        self.transfer = nil
        if starting {
            heldOutcome = outcome
            return
        }
        if nextURL != nil, outcome == .completed {
            // From the loop, not from inside the multi's completion handling.
            nextLegDue = true
            multi.loop.schedule(self, at: multi.loop.now)
            return
        }
        if let head = collectedHead, outcome == .completed, let shaping {
            collectedHead = nil
            deliverShaped(head, shaping)
            return
        }
        report(outcome)
    }

    private func startNextLeg() {
        guard sink != nil, let redirects, let target = nextURL else { return }
        nextURL = nil
        hops += 1
        currentURL = target
        var request = redirects.template
        request.url = target.url
        if totalTimeoutMs > 0 {
            // The backend's timeout bounds the whole call, not each leg.
            let spentMs = Int((multi.loop.now &- startedAt) / 1_000_000)
            guard spentMs < totalTimeoutMs else {
                report(.timedOut("\(hops) redirects took the backend's whole timeout (\(totalTimeoutMs) ms)"))
                return
            }
            request.totalTimeoutMs = totalTimeoutMs - spentMs
        }
        starting = true
        let transfer = UpstreamTransfer(template: request, accept: accept, requestID: requestID, body: .none,
                                        multi: multi, delegate: self)
        starting = false
        if let outcome = heldOutcome {
            heldOutcome = nil
            report(outcome)
        } else {
            self.transfer = transfer
        }
    }

    private func deliverShaped(_ head: (status: Int, headers: [(String, String)]), _ shaping: ReplyShaping) {
        guard let sink else { return }
        guard let shaped = shaping.shape(collected) else {
            collected = []
            report(.completed, as: .jobFailed(shaping.unshapeable))
            return
        }
        collected = []
        var headers = head.headers.filter { $0.0 != "content-type" && $0.0 != "content-length" }
        headers.insert(("content-type", shaping.contentType), at: 0)
        sink.backendHead(status: head.status, headers: headers, contentLength: shaped.count)
        guard self.sink != nil else { return }
        let more = shaped.withUnsafeBytes { sink.backendBody($0) }
        let report = finalReport(.completed)
        if more {
            self.sink = nil
            sink.backendEnded(report)
        } else {
            endAfterResume = report
        }
    }

    private func finalReport(_ outcome: BackendOutcome) -> BackendReport {
        // Without a figure of its own the gateway's clock of the attempt is the bill.
        let gpu = reportsMeasuredTime
            ? GPUTime.measured(MilliGPUSeconds(seconds: Double(multi.loop.now &- startedAt) / 1e9)) : nil
        return BackendReport(outcome: outcome, tokens: usage.usage, gpuTime: gpu)
    }

    private func report(_ outcome: UpstreamOutcome, as backendOutcome: BackendOutcome? = nil) {
        guard let sink else { return }
        self.sink = nil
        sink.backendEnded(finalReport(backendOutcome ?? BackendOutcome(outcome)))
    }

    func resumeReceiving() {
        if let report = endAfterResume, let sink {
            endAfterResume = nil
            self.sink = nil
            sink.backendEnded(report)
            return
        }
        transfer?.resumeReceiving()
    }

    func bodyReadable() {
        transfer?.resumeSending()
    }

    func cancel() {
        sink = nil
        heldOutcome = nil
        nextURL = nil
        nextLegDue = false
        endAfterResume = nil
        transfer?.cancel()
        transfer = nil
    }
}
