// SPDX-License-Identifier: Apache-2.0
// One client call run as a Replicate prediction (research/backend-protocols.md §4):
//
//   create  POST <createURL> {"input": …} with `Prefer: wait=N` — Replicate holds the reply up
//           to N s and answers with the prediction, final or not;
//   poll    GET urls.get (only on the API's own origin) on PollSchedule's backoff until the
//           status is succeeded | failed | canceled | aborted, within the backend's timeout;
//   fetch   the output's files (delivery origins only, with the token, bounded), one by one;
//   reply   the shaped result as a GeneratedReply, `metrics.predict_time` as its GPU time.
//
// Never pay twice (SPEC §3): a prediction abandoned — the backend's timeout, the client gone,
// a failover — is cancelled with `POST urls.cancel` through the loop's DetachedCalls, which see
// that request through after this call is freed. A create abandoned while Replicate holds its
// reply has no id to cancel yet: it keeps its connection (the body is already sent, so nothing
// of the client's is read any more) until the reply names the prediction, then cancels it;
// `maxWaitSeconds` bounds that wait. Everything is reported from loop timers or completions,
// never inside `invoke`. Loop-confined.
import Glibc
import TollgateIO
import TollgateUpstream
import TollgateCore

final class ReplicateCall: BackendInvocation, TimerHandler {
    private enum Phase {
        case creating, polling, fetching, replying, over
    }

    private let config: ReplicateCallConfig
    private let loop: BackendLoop
    private let operation: APIOperation
    private let model: String
    private let requestID: RequestID
    private var sink: (any BackendSink)?
    private var phase = Phase.creating
    /// The create or poll in flight.
    private var current: BufferedCall?
    /// The output file fetch in flight.
    private var fetch: BufferedCall?
    private var input: ReplicateInputBody?
    private var pollTimer: TimerToken?
    private var deadlineTimer: TimerToken?
    private let deadline: UInt64
    private var schedule: PollSchedule
    /// The latest non-final state of the prediction: what a cancel needs.
    private var prediction: ReplicatePrediction?
    /// Set by `cancel` while the create is held: its reply is awaited only to cancel what it names.
    private var abandoned = false
    private var reply: GeneratedReply?
    // The succeeded prediction and its files, while they are fetched.
    private var finished: ReplicatePrediction?
    private var pendingFiles: [String] = []
    private var files: [String: ReplicateOutput.File] = [:]
    private var fileBytes = 0

    init(config: ReplicateCallConfig, loop: BackendLoop, call: BackendCall, body: any RequestBodySource, sink: any BackendSink) {
        self.config = config
        self.loop = loop
        self.operation = call.operation
        self.model = call.model
        self.requestID = call.requestID
        self.sink = sink
        let now = loop.eventLoop.now
        let budgetNs = UInt64(max(config.options.endpoint.totalTimeoutMs, 1)) &* 1_000_000
        deadline = now &+ budgetNs
        schedule = PollSchedule(deadline: deadline, maxPolls: ReplicateCallConfig.maxPolls)
        deadlineTimer = loop.eventLoop.schedule(self, at: deadline)

        let input: ReplicateInputBody
        do {
            input = try ReplicateInputBody(source: body, format: call.bodyFormat, prefix: config.endpoints.bodyPrefix)
        } catch {
            // A multipart body whose boundary is unusable: the request's fault.
            deliver(GeneratedReply(errorStatus: 400, message: "the request body cannot be read: \(error)",
                                   code: "invalid_request", report: BackendReport(outcome: .completed),
                                   loop: loop.eventLoop, sink: sink))
            return
        }
        self.input = input
        let remaining = remainingMs(now: now)
        var request = config.request(url: config.endpoints.createURL, method: "POST", remainingMs: remaining)
        request.headers = [("Content-Type", "application/json"),
                           ("Prefer", ReplicateEndpoints.preferWait(remainingMs: remaining, maxWait: config.options.maxWaitSeconds))]
        request.requestID = call.requestID
        request.body = .stream(length: nil)
        current = Self.predictionCall(request, on: loop, bodyProvider: input) { [self] reply in
            createAnswered(reply)
        }
    }

    /// A create or poll whose reply is a prediction object: collected whole (up to the request's
    /// `maxResponseBytes`) except its echoed `input` — possibly a whole uploaded file — which
    /// ReplicateInputDropper removes as it streams; `retry-after` kept.
    private static func predictionCall(_ request: UpstreamRequest, on loop: BackendLoop,
                                       bodyProvider: (any BufferedCallBodyProvider)?,
                                       completion: @escaping (BufferedReply) -> Void) -> BufferedCall {
        var dropper = ReplicateInputDropper()
        return BufferedCall.start(request, on: loop, keepHeaders: ["retry-after"], bodyProvider: bodyProvider,
                                  replyFilter: { bytes, body in dropper.feed(bytes, into: &body) }, completion: completion)
    }

    // MARK: - BackendInvocation

    func resumeReceiving() {
        reply?.resumeReceiving()
    }

    func bodyReadable() {
        if phase == .creating { current?.bodyReadable() }
    }

    func cancel() {
        guard phase != .over else { return }
        sink = nil
        if phase == .creating, input?.isComplete == true, let current, current.isActive {
            // Replicate holds the create's reply; the prediction exists but its id is not
            // known yet. Keep the connection to learn it (see the header).
            abandoned = true
            stopTimers()
            phase = .over
            return
        }
        finish()
        cancelPrediction()
    }

    // MARK: - Create and poll

    private func createAnswered(_ reply: BufferedReply) {
        current = nil
        let failure = input?.failure
        input = nil
        if abandoned {
            // The client is gone: cancel whatever the reply names, and stop.
            if reply.isSuccess, let p = (try? JSONValue.parse(reply.body)).flatMap(ReplicatePrediction.init(json:)),
               !p.status.isFinal {
                prediction = p
                cancelPrediction()
            }
            return
        }
        guard phase == .creating else { return }
        if let failure, let sink {
            // The client's body could not become an input (a repeated field, bad UTF-8).
            return deliver(GeneratedReply(errorStatus: 400, message: "the request body cannot be sent: \(failure)",
                                          code: "invalid_request", report: BackendReport(outcome: .completed),
                                          loop: loop.eventLoop, sink: sink))
        }
        guard reply.outcome == .completed else {
            return end(BackendReport(outcome: BackendOutcome(reply.outcome)))
        }
        guard (200..<300).contains(reply.status) else { return refused(reply) }
        guard let p = Self.prediction(from: reply) else {
            return end(BackendReport(outcome: .broken("Replicate's reply to the create is not a prediction")))
        }
        phase = .polling
        advance(p)
    }

    /// A prediction's state, from the create or a poll.
    private func advance(_ p: ReplicatePrediction) {
        prediction = p
        switch p.status {
        case .succeeded:
            prediction = nil
            fetchFiles(of: p)
        case .failed:
            prediction = nil
            end(report(.jobFailed(p.error ?? "the prediction failed"), p))
        case .canceled:
            prediction = nil
            end(report(.jobFailed("the prediction was canceled on Replicate"), p))
        case .aborted:
            // A Cancel-After deadline passed before it started (not charged).
            prediction = nil
            end(report(.timedOut("the prediction was aborted before it started"), p))
        case .starting, .processing, .other:
            guard config.endpoints.getURL(for: p) != nil else {
                cancelPrediction()
                return end(BackendReport(outcome: .broken("Replicate's urls.get is not on the backend's origin")))
            }
            schedulePoll()
        }
    }

    private func schedulePoll() {
        guard let due = schedule.next(now: loop.eventLoop.now) else { return timedOut() }
        pollTimer = loop.eventLoop.schedule(self, at: due)
    }

    private func poll() {
        guard let p = prediction, let url = config.endpoints.getURL(for: p) else { return }
        var request = config.request(url: url, method: "GET", remainingMs: remainingMs(now: loop.eventLoop.now))
        request.requestID = requestID
        current = Self.predictionCall(request, on: loop, bodyProvider: nil) { [self] reply in
            current = nil
            guard phase == .polling else { return }
            if reply.isSuccess, let next = Self.prediction(from: reply) {
                return advance(next)
            }
            switch reply.status {
            case 400..<500 where reply.status != 429:
                // Gone or refused (404, 401): polling again cannot help.
                cancelPrediction()
                end(BackendReport(outcome: .broken("polling the prediction failed: HTTP \(reply.status)")))
            default:
                // A transport error, a 5xx or a 429: try again on the schedule, within the deadline.
                schedulePoll()
            }
        }
    }

    /// A create Replicate refused. 402 is out of credit (the platform's quota); anything else
    /// goes to the gateway as an OpenAI-shaped error with the same status, which its failover
    /// table judges (429 cools the backend down, 401/403 marks it misconfigured, 5xx fails
    /// over, another 4xx is the request's fault and reaches the client).
    private func refused(_ reply: BufferedReply) {
        let message = "Replicate: " + Self.problemText(reply.body, status: reply.status)
        if reply.status == 402 {
            return end(BackendReport(outcome: .quotaExhausted(message, until: nil)))
        }
        guard let sink else { return }
        let retryAfter = reply.header("retry-after").map { [("retry-after", $0)] } ?? []
        let text = JSONText.errorBody(message: message, type: JSONText.errorType(forStatus: reply.status), code: nil)
        deliver(GeneratedReply(status: reply.status, contentType: "application/json", headers: retryAfter,
                               body: Array(text.utf8), report: BackendReport(outcome: .completed),
                               loop: loop.eventLoop, sink: sink))
    }

    // MARK: - Files and the reply

    private func fetchFiles(of p: ReplicatePrediction) {
        phase = .fetching
        finished = p
        do {
            pendingFiles = try ReplicateOutput.files(operation: operation, output: p.output ?? .null, endpoints: config.endpoints)
        } catch {
            return end(report(.broken(error.message), p))
        }
        nextFile()
    }

    private func nextFile() {
        guard let p = finished else { return }
        guard !pendingFiles.isEmpty else { return replyWith(p) }
        let url = pendingFiles.removeFirst()
        var request = config.request(url: url, method: "GET", remainingMs: remainingMs(now: loop.eventLoop.now))
        request.maxResponseBytes = max(config.options.endpoint.maxResponseBytes - fileBytes, 0)
        fetch = BufferedCall.start(request, on: loop) { [self] reply in
            fetch = nil
            guard phase == .fetching else { return }
            guard reply.isSuccess else {
                let why = reply.outcome == .completed ? "HTTP \(reply.status)" : reply.outcome.description
                return end(report(.broken("fetching the prediction's output file failed: \(why)"), p))
            }
            fileBytes += reply.body.count
            files[url] = ReplicateOutput.File(bytes: reply.body, contentType: reply.contentType)
            nextFile()
        }
    }

    private func replyWith(_ p: ReplicatePrediction) {
        let body: [UInt8]
        do {
            body = try ReplicateOutput.reply(operation: operation, output: p.output ?? .null, model: model, files: files,
                                             created: Self.unixSeconds())
        } catch {
            return end(report(.broken(error.message), p))
        }
        files = [:]
        guard let sink else { return }
        deliver(GeneratedReply(status: 200, contentType: "application/json", body: body,
                               report: report(.completed, p), loop: loop.eventLoop, sink: sink))
    }

    private func deliver(_ reply: GeneratedReply) {
        stopTimers()
        phase = .replying
        self.reply = reply
        sink = nil  // the reply reports from now on
        reply.start()
    }

    // MARK: - Ending

    private func timedOut() {
        cancelPrediction()
        let seconds = config.options.endpoint.totalTimeoutMs / 1_000
        end(BackendReport(outcome: .timedOut("no result from Replicate within the backend's timeout (\(seconds)s)")))
    }

    /// Both timers land here: one at the call's deadline, one for the next poll (a poll the
    /// schedule put on the deadline itself counts as the deadline).
    func timerFired(deadline: UInt64, now: UInt64) {
        guard now >= self.deadline else {
            if pollTimer != nil, phase == .polling {
                pollTimer = nil
                poll()
            }
            return
        }
        guard phase == .creating || phase == .polling || phase == .fetching else { return }
        // Whatever is in flight, the call's time is up.
        current?.cancel()
        current = nil
        fetch?.cancel()
        fetch = nil
        timedOut()
    }

    /// Sends the platform's cancel for a prediction that is not final (fire and forget).
    private func cancelPrediction() {
        guard let p = prediction, !p.status.isFinal else { return }
        prediction = nil
        let request = config.request(url: config.endpoints.cancelURL(for: p), method: "POST",
                                     remainingMs: ReplicateCallConfig.cancelTimeoutMs)
        var cancel = request
        cancel.body = .bytes([])
        loop.detachedCalls.start(cancel)
    }

    private func end(_ report: BackendReport) {
        let sink = self.sink
        finish()
        sink?.backendEnded(report)
    }

    /// Stops everything of this call (not the platform's job: see `cancelPrediction`).
    private func finish() {
        phase = .over
        sink = nil
        stopTimers()
        current?.cancel()
        current = nil
        fetch?.cancel()
        fetch = nil
        input = nil
        reply?.cancel()
        reply = nil
        finished = nil
        pendingFiles = []
        files = [:]
    }

    private func stopTimers() {
        if let pollTimer { loop.eventLoop.cancel(pollTimer) }
        if let deadlineTimer { loop.eventLoop.cancel(deadlineTimer) }
        pollTimer = nil
        deadlineTimer = nil
    }

    // MARK: - Helpers

    private func remainingMs(now: UInt64) -> Int {
        deadline > now ? Int(clamping: (deadline - now) / 1_000_000) + 1 : 1
    }

    /// The report of a final prediction: `predict_time` is the GPU time Replicate bills.
    private func report(_ outcome: BackendOutcome, _ p: ReplicatePrediction) -> BackendReport {
        BackendReport(outcome: outcome, gpuTime: p.predictTime.map(GPUTime.reported), queueTime: p.waitTime)
    }

    private static func prediction(from reply: BufferedReply) -> ReplicatePrediction? {
        guard let json = try? JSONValue.parse(reply.body) else { return nil }
        return ReplicatePrediction(json: json)
    }

    /// `detail` (or `title`) of Replicate's problem+json error body, else the status.
    static func problemText(_ body: [UInt8], status: Int) -> String {
        if let json = try? JSONValue.parse(body) {
            if let detail = json["detail"]?.stringValue, !detail.isEmpty { return detail }
            if let title = json["title"]?.stringValue, !title.isEmpty { return title }
        }
        return "HTTP \(status)"
    }

    /// OpenAI's `created`: unix seconds.
    private static func unixSeconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int(ts.tv_sec)
    }
}
