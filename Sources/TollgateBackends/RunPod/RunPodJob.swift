// SPDX-License-Identifier: Apache-2.0
// One call to a RunPod endpoint: submit (/runsync or /run), poll /status/<id> while the job is
// queued or running, shape the COMPLETED output (fetching images only from the backend's own
// origin) and hand the reply to the sink; or report why not. Loop-confined. Every path that
// leaves a job unfinished behind — the client gone, failover, the backend's timeout, a poll
// the gateway cannot read — cancels it on the platform (SPEC §3: never pay twice).
import Glibc
import TollgateIO
import TollgateUpstream
import TollgateCore

final class RunPodJob: BackendInvocation, TimerHandler, BufferedCallBodyProvider {
    private let backend: RunPodBackend
    private let operation: APIOperation
    private let model: String
    private let loop: EventLoop
    private let body: any RequestBodySource
    /// nil once the call reported its end or was cancelled: nothing reaches the gateway after.
    private var sink: (any BackendSink)?
    private let deadline: UInt64
    private var schedule: PollSchedule
    /// The upstream request in flight (submit, poll or image fetch).
    private var current: BufferedCall?
    private var timer: TimerToken?
    /// A failure found inside `invoke`, reported from the loop a moment later.
    private var refused: RefusedCall?
    /// The reply being delivered (its own backpressure).
    private var reply: GeneratedReply?
    /// The job's id once the platform gave it, while the job may still be running.
    private var jobID: String?
    /// The submit's body was read to its end (curl has it all): an abandoned submit may wait
    /// for its answer to learn the job's id.
    private var inputComplete = false
    /// The submit is in flight (its answer names the job).
    private var submitting = false
    /// The client's body as the job's input (JSON as is, multipart files as base64).
    private var encoder: JobInputEncoder?
    /// Images of the reply, while same-origin ones are fetched.
    private var images: [RunPodOutputShaper.ImageEntry] = []
    /// Bytes of the images fetched so far: together they stay within `max_response`, as one
    /// reply would (each fetch alone under it would let 8 images hold 8 times it).
    private var imageBytes = 0
    private var finalJob: RunPodJobReply?

    init(backend: RunPodBackend, call: BackendCall, body: any RequestBodySource, sink: any BackendSink) {
        self.backend = backend
        self.operation = call.operation
        self.model = call.model
        self.loop = backend.loop.eventLoop
        self.body = body
        self.sink = sink
        let budgetNs = UInt64(max(backend.options.endpoint.totalTimeoutMs, 1)) &* 1_000_000
        let (sum, overflow) = loop.now.addingReportingOverflow(budgetNs)
        deadline = overflow ? UInt64.max : sum
        schedule = PollSchedule(deadline: deadline, maxPolls: RunPodBackend.maxPolls)
        start(call)
    }

    private var remainingMs: Int {
        let now = loop.now
        return now >= deadline ? 0 : Int(min((deadline - now) / 1_000_000, UInt64(Int32.max)))
    }

    // MARK: - Submit

    private func start(_ call: BackendCall) {
        switch call.operation {
        case .chatCompletions, .completions, .embeddings:
            // A RunPod vLLM worker serves OpenAI's API at <base>/openai/v1: an `openai`
            // backend with that url, not a job.
            return failSoon(.broken("a runpod backend runs jobs (images, audio, /v1/run); \(call.operation.rawValue) needs an openai backend (a vLLM worker's <base>/openai/v1)"))
        case .imageGenerations, .imageEdits, .audioTranscriptions, .audioDiarization, .run:
            break
        }
        let runPath = call.operation == .run ? call.runPath : ""
        guard let (url, _) = backend.options.submitURL(runPath: runPath, remainingMs: remainingMs) else {
            return refuse(status: 404, message: "a runpod backend takes /v1/run/<model>, /v1/run/<model>/runsync or /v1/run/<model>/run",
                          code: "not_found")
        }
        do {
            encoder = try JobInputEncoder(source: body, format: call.bodyFormat)
        } catch {
            return failSoon(.broken("the request body cannot become a RunPod input: \(error)"))
        }
        // Chunked: the input's length is known only once a multipart body was encoded.
        let upstreamBody = UpstreamBody.stream(length: nil)
        let request = backend.request(url: url, method: "POST", body: upstreamBody, totalMs: remainingMs,
                                      cap: backend.options.endpoint.maxResponseBytes)
        submitting = true
        current = BufferedCall.start(request, on: backend.loop, keepHeaders: ["retry-after"], bodyProvider: self) {
            [self] reply in submitted(reply)
        }
        armDeadline()
    }

    /// `{"input":` + the client's body + `}`, as JobInputEncoder streams it.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        guard let encoder else { return .abort }
        let chunk = encoder.read(into: buffer)
        if case .end = chunk { inputComplete = true }
        return chunk
    }

    private func submitted(_ reply: BufferedReply) {
        current = nil
        submitting = false
        guard sink != nil else { return lingered(reply) }
        if let failure = encoder?.failure, failure != .bodyAborted {
            // The client's body cannot be an input (a repeated form field, bad UTF-8): its fault.
            return refuse(status: 400, message: failure.description, code: "invalid_request")
        }
        encoder = nil
        guard reply.outcome == .completed else { return finish(BackendOutcome(reply.outcome)) }
        guard (200..<300).contains(reply.status) else { return passOn(reply) }
        handle(reply)
    }

    /// A submit answered after its call was abandoned: cancel the job it names, if it runs.
    private func lingered(_ reply: BufferedReply) {
        backend.lingering -= 1
        guard reply.isSuccess, let job = try? RunPodJobReply.parse(reply.body), !job.status.isFinal,
              let id = job.id else { return }
        backend.sendCancel(jobID: id)
    }

    // MARK: - Polling

    /// A job object from a submit or a poll.
    private func handle(_ reply: BufferedReply) {
        let job: RunPodJobReply
        do {
            job = try RunPodJobReply.parse(reply.body)
        } catch {
            return finish(.broken(error.message))
        }
        if job.status.isFinal {
            jobID = nil
            return completed(job)
        }
        jobID = job.id
        schedulePoll()
    }

    private func schedulePoll() {
        guard let due = schedule.next(now: loop.now) else { return expire() }
        if let timer { loop.cancel(timer) }
        timer = loop.schedule(self, at: due)
    }

    private func poll() {
        guard let id = jobID else { return }
        let method = backend.statusMethod
        let request = backend.request(url: backend.options.statusURL(jobID: id), method: method,
                                      body: method == "GET" ? .none : .bytes([]), totalMs: remainingMs,
                                      cap: backend.options.endpoint.maxResponseBytes, fixed: method == "GET" ? backend.fetchHeaders : nil)
        current = BufferedCall.start(request, on: backend.loop) { [self] reply in polled(reply, method: method) }
    }

    private func polled(_ reply: BufferedReply, method: String) {
        current = nil
        guard sink != nil else { return }
        switch reply.outcome {
        case .completed:
            break
        case .connectFailed, .timedOut, .broken:
            // A poll that did not get through: the job runs on; try again on the schedule.
            return schedulePoll()
        case .tlsFailed, .tooLarge, .cancelled:
            return finish(BackendOutcome(reply.outcome))
        }
        switch reply.status {
        case 200..<300:
            handle(reply)
        case 405 where method == "GET":
            backend.statusMethod = "POST"
            poll()
        case 401, 403:
            passOn(reply)
        case 404:
            // The job is gone: its result expired (ttl) or the platform lost it.
            jobID = nil
            finish(.jobFailed("RunPod no longer knows the job (HTTP 404 on /status)"))
        case 429, 500...:
            // Rate-limited or a passing platform error: the job runs on; poll again later.
            schedulePoll()
        default:
            finish(.broken("RunPod answered a status poll with HTTP \(reply.status)"))
        }
    }

    /// Out of time: the job is cancelled and the call ends as a timeout (504).
    private func expire() {
        finish(.timedOut("the RunPod job did not finish within the backend's timeout"))
    }

    func timerFired(deadline due: UInt64, now: UInt64) {
        timer = nil
        guard sink != nil, reply == nil else { return }
        if now >= deadline { return expire() }
        if current == nil, jobID != nil { poll() } else { armDeadline() }
    }

    /// The deadline's timer, while no poll is due before it.
    private func armDeadline() {
        if let timer { loop.cancel(timer) }
        timer = loop.schedule(self, at: deadline)
    }

    // MARK: - Results

    private func completed(_ job: RunPodJobReply) {
        finalJob = job
        switch job.status {
        case .completed:
            break
        case .failed:
            return finish(.jobFailed(job.error ?? "the RunPod job failed"))
        case .cancelled:
            return finish(.jobFailed("the RunPod job was cancelled on the platform"))
        case .timedOut:
            return finish(.jobFailed("the RunPod job timed out on the platform (TIMED_OUT)"))
        case .inQueue, .inProgress:
            return finish(.broken("the RunPod job is not final"))
        }
        switch RunPodOutputShaper.plan(operation: operation, output: job.output, model: model, base: backend.options.endpoint.baseURL) {
        case .body(let bytes):
            deliver(bytes)
        case .unusable(let why):
            finish(.jobFailed(why))
        case .images(let entries):
            images = entries
            fetchNextImage()
        }
    }

    /// Fetches the next image on the backend's own origin (with its key), one at a time.
    private func fetchNextImage() {
        guard let index = images.firstIndex(where: { if case .fetch = $0 { return true } else { return false } }),
              case .fetch(let url) = images[index] else {
            let created = Int(wallClockSeconds())
            return deliver(RunPodOutputShaper.imageList(created: created, entries: images))
        }
        let request = backend.request(url: url, method: "GET", body: .none, totalMs: remainingMs,
                                      cap: max(backend.options.endpoint.maxResponseBytes - imageBytes, 0), fixed: backend.fetchHeaders)
        current = BufferedCall.start(request, on: backend.loop) { [self] reply in
            current = nil
            guard sink != nil else { return }
            if reply.outcome == .tooLarge {
                return finish(.jobFailed("the RunPod job's images exceed the backend's max_response (\(backend.options.endpoint.maxResponseBytes) bytes)"))
            }
            guard reply.isSuccess, !reply.body.isEmpty else {
                return finish(.jobFailed("the RunPod job's image could not be fetched from the backend (\(reply.outcome == .completed ? "HTTP \(reply.status)" : reply.outcome.description))"))
            }
            imageBytes += reply.body.count
            images[index] = .base64(Base64.encode(reply.body))
            fetchNextImage()
        }
    }

    private func wallClockSeconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }

    /// The platform's figures for the meter: executionTime is the GPU time it bills;
    /// delayTime the queue (cold start included). Without them the gateway times the attempt.
    private func report(for outcome: BackendOutcome) -> BackendReport {
        let gpu = finalJob?.executionTimeMs.map { GPUTime.reported(MilliGPUSeconds($0)) }
        let queue = finalJob?.delayTimeMs.map { Duration.milliseconds($0) }
        return BackendReport(outcome: outcome, gpuTime: gpu, queueTime: queue)
    }

    private func deliver(_ bytes: [UInt8]) {
        guard let sink else { return }
        self.sink = nil
        cancelTimer()
        let reply = GeneratedReply(status: 200, contentType: "application/json", body: bytes,
                                   report: report(for: .completed), loop: loop, sink: sink)
        self.reply = reply
        reply.start()
    }

    /// The platform's own answer (a 4xx about the request, 401/403 about our key, 429, 5xx),
    /// as it came: the gateway's outcome table decides (SPEC §3).
    private func passOn(_ upstream: BufferedReply) {
        guard let sink else { return }
        self.sink = nil
        cancelJob()
        cancelTimer()
        let headers = upstream.headers.filter { $0.0 == "retry-after" }
        let reply = GeneratedReply(status: upstream.status, contentType: upstream.contentType, headers: headers,
                                   body: upstream.body, report: report(for: .completed), loop: loop, sink: sink)
        self.reply = reply
        reply.start()
    }

    /// An error of the request's own (a 4xx the client gets as is), made here: from the loop,
    /// never inside `invoke` (GeneratedReply starts on a zero-delay timer).
    private func refuse(status: Int, message: String, code: String) {
        guard let sink else { return }
        self.sink = nil
        cancelJob()
        cancelTimer()
        current?.cancel()
        current = nil
        let reply = GeneratedReply(errorStatus: status, message: message, code: code,
                                   report: BackendReport(outcome: .completed), loop: loop, sink: sink)
        self.reply = reply
        reply.start()
    }

    /// Ends the call with `outcome` (never inside `invoke`: see failSoon).
    private func finish(_ outcome: BackendOutcome) {
        cancelJob()
        cancelTimer()
        abandonCurrent()
        report(outcome)
    }

    private func report(_ outcome: BackendOutcome) {
        guard let sink else { return }
        self.sink = nil
        sink.backendEnded(report(for: outcome))
    }

    private func failSoon(_ outcome: BackendOutcome) {
        guard let sink else { return }
        self.sink = nil
        refused = RefusedCall(loop: loop, outcome: outcome, sink: sink)
    }

    private func cancelJob() {
        guard let id = jobID else { return }
        jobID = nil
        backend.sendCancel(jobID: id)
    }

    private func cancelTimer() {
        if let timer { loop.cancel(timer) }
        timer = nil
    }

    // MARK: - BackendInvocation

    func resumeReceiving() {
        reply?.resumeReceiving()
    }

    func bodyReadable() {
        current?.bodyReadable()
    }

    func cancel() {
        guard sink != nil || reply != nil || refused != nil else { return }
        sink = nil
        refused?.cancel()
        refused = nil
        reply?.cancel()
        reply = nil
        cancelTimer()
        cancelJob()
        abandonCurrent()
    }

    /// Stops the request in flight; a submit whose body is all out is left to finish instead,
    /// within its own deadline, because its answer names the job to cancel (`lingered`).
    private func abandonCurrent() {
        guard let call = current else { return }
        current = nil
        if submitting, inputComplete, backend.lingering < RunPodBackend.maxLingering {
            backend.lingering += 1
            current = call
            return
        }
        call.cancel()
    }
}
