// SPDX-License-Identifier: Apache-2.0
// One client request to a Gradio app, step by step (see HFSpaceBackend for the routes):
// the app's `/config` (cached by the adapter), the request's fields (a JSON body read whole; a
// multipart body streamed, text fields held, each file uploaded as it arrives), `POST /call`,
// the SSE result stream, the result files, and the reply in the route's shape. Every report to
// the sink comes from a loop timer or a sub-call's completion (itself delivered from a timer),
// never from inside `invoke` or curl's callbacks — except the stream's own bytes, relayed from
// the SSE transfer's write callback exactly as a pass-through adapter relays them.
//
// Cancelling (client gone, failover, deadline) stops every transfer and asks Gradio to cancel
// the job through `BackendLoop.detachedCalls` (`POST <prefix>/cancel` with our session hash,
// the fn_index and the event id: routes.py cancel_event removes a queued job and cancels a
// running one). A cancel that arrives while `POST /call` is in flight lets that POST finish —
// only its answer names the job — and then sends the queue cancel: a job is never left running
// for a client that is gone.
import Glibc
import TollgateIO
import TollgateUpstream
import TollgateCore

final class GradioCall: BackendInvocation, TimerHandler, UpstreamTransferDelegate {
    /// A JSON request body is read whole, up to this.
    static let maxJSONBody = 64 << 20
    /// Multipart text fields, all together.
    static let maxTextFields = 1 << 20
    /// Files in one multipart request.
    static let maxFiles = 16
    /// `/config` can list hundreds of components.
    static let maxConfigBytes = 16 << 20
    /// Replies of `/upload` (a list of paths) and `/call` (an event id).
    static let maxSmallReply = 1 << 20
    /// Result files of one call, together (held until the reply is made; images and short
    /// clips, not a place for gigabytes).
    static let maxResultFiles = 256 << 20

    private let backend: HFSpaceBackend
    private let call: BackendCall
    private let body: any RequestBodySource
    private var sink: (any BackendSink)?
    private let loop: EventLoop
    private let options: HFSpaceBackendOptions
    private let sessionHash: String

    private enum Phase { case starting, config, body, submitting, streaming, fetching, replying, done }
    private var phase = Phase.starting
    private var timer: TimerToken?
    private var timerAction: (() -> Void)?

    /// The sub-request in flight (config, upload, submit, file).
    private var pending: BufferedCall?
    private var stream: UpstreamTransfer?
    private var reply: GeneratedReply?
    private var config = GradioSpaceConfig(apiPrefix: "", version: nil, functionIndex: [:])
    private var eventID: String?
    /// The job ended on the app (its terminal event came): no cancel is due.
    private var jobOver = false
    /// The call goes through the queue protocol (`/queue/join`, `/queue/data`): an app too old
    /// to send `/call` clients its error texts (GradioSpaceConfig.withholdsErrorText).
    private var queueProtocol = false
    private var submittedAt: UInt64 = 0
    /// Time the job waited in the app's queue, when the protocol tells.
    private var queueTime: Duration?

    // Body
    private var fields: [String: [GradioFieldValue]] = [:]
    private var jsonBody: [UInt8] = []
    private var pump: GradioMultipartPump?
    private var upload: GradioUploadBody?
    private var currentPart: MultipartPartHeaders?
    private var textBytes: [UInt8] = []
    private var textTotal = 0
    private var fileCount = 0
    /// The current multipart part is one `inputs` does not name.
    private var skippingPart = false
    /// The request fields `inputs` names (`$field`).
    private lazy var wantedFields: Set<String> = Set(options.inputs.compactMap { input in
        if case .field(let name) = input { return name }
        return nil
    })

    // Stream
    private var events = GradioEventParser(maxEventBytes: 64 << 20)
    private var streamStatus = 0
    private var terminal: GradioEvent?
    private var relay = GradioStreamRelay()

    // Result
    private var output: JSONValue = .null
    private var files: [GradioResultFiles.FileRef] = []
    private var fetched: [[UInt8]?] = []
    /// Images the result carried as base64 text (no file to fetch).
    private var inlineImages: [String] = []
    private var fileBudget: Int

    init(backend: HFSpaceBackend, call: BackendCall, body: any RequestBodySource, sink: any BackendSink) {
        self.backend = backend
        self.call = call
        self.body = body
        self.sink = sink
        self.loop = backend.loop
        self.options = backend.options
        self.sessionHash = backend.newSessionHash()
        fileBudget = min(options.endpoint.maxResponseBytes, Self.maxResultFiles)
    }

    private var relaysStream: Bool { call.operation == .run && call.stream }

    /// Begins on the next pass of the loop (never a report inside `invoke`).
    func start() {
        schedule { self.begin() }
    }

    private func schedule(_ action: @escaping () -> Void) {
        if let timer { loop.cancel(timer) }
        timerAction = action
        timer = loop.schedule(self, at: loop.now)
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        timer = nil
        let action = timerAction
        timerAction = nil
        guard sink != nil else { return }
        action?()
    }

    // MARK: - Steps

    private func begin() {
        switch call.operation {
        case .imageGenerations, .imageEdits, .audioTranscriptions, .audioDiarization, .run:
            break
        case .chatCompletions, .completions, .embeddings:
            return replyError(400, "backend \(options.endpoint.name) (hf_space) serves /v1/images, /v1/audio and /v1/run, not \(call.operation.rawValue)",
                              code: "invalid_request")
        }
        if let cached = backend.freshConfig() {
            config = cached
            readBody()
            return
        }
        phase = .config
        pending = BufferedCall.start(backend.request(options.endpoint.baseURL + "/config", maxBytes: Self.maxConfigBytes),
                                     on: backend.backendLoop) { reply in
            self.pending = nil
            self.configArrived(reply)
        }
    }

    private func configArrived(_ reply: BufferedReply) {
        guard reply.outcome == .completed else { return end(BackendOutcome(reply.outcome)) }
        guard reply.status == 200 else {
            // A sleeping or building Space, or no Gradio app at this URL: nothing was run.
            return end(.connectFailed("GET /config answered \(reply.status)"))
        }
        do throws(GradioSpaceConfig.Failure) {
            config = try GradioSpaceConfig.parse(reply.body)
        } catch {
            return end(.broken("the app's /config is not usable: \(error)"))
        }
        backend.store(config)
        readBody()
    }

    // MARK: Body

    private func readBody() {
        phase = .body
        switch call.bodyFormat {
        case .json:
            readJSON()
        case .multipart(let boundary):
            do throws(MultipartError) {
                pump = try GradioMultipartPump(source: body, boundary: boundary)
            } catch {
                return replyError(400, "malformed multipart body: \(error)", code: "invalid_request")
            }
            drivePump()
        }
    }

    private func readJSON() {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            switch chunk.withUnsafeMutableBytes({ body.readBody(into: $0) }) {
            case .bytes(let n):
                guard jsonBody.count + n <= Self.maxJSONBody else {
                    return replyError(413, "the request body exceeds \(Self.maxJSONBody >> 20) MiB", code: "request_too_large")
                }
                jsonBody.append(contentsOf: chunk[0..<min(max(n, 0), chunk.count)])
            case .wouldBlock:
                return  // `bodyReadable` calls again
            case .abort:
                return end(.broken("the client's body ended early"))
            case .end:
                return jsonComplete()
            }
        }
    }

    private func jsonComplete() {
        if jsonBody.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return submit()
        }
        let value: JSONValue
        do throws(JSONParseError) {
            value = try JSONValue.parse(jsonBody, maxDepth: 128)
        } catch {
            return replyError(400, "the request body is not valid JSON: \(error)", code: "invalid_json")
        }
        guard let object = value.objectValue else {
            return replyError(400, "the request body must be a JSON object", code: "invalid_request")
        }
        jsonBody = []
        for member in object.members { fields[member.key, default: []].append(.json(member.value)) }
        submit()
    }

    /// Reads the multipart body while no upload is pulling it: text fields are kept, a file
    /// part starts its upload (which then pulls the part's bytes itself).
    private func drivePump() {
        guard let pump, upload == nil else { return }
        while true {
            switch pump.next() {
            case .partBegin(let headers):
                // A part `inputs` does not name is read and dropped: nothing of it is held, and
                // no file goes to the Space (with the backend's token) for nothing.
                skippingPart = !wantedFields.contains(Self.fieldName(headers.name))
                if skippingPart { continue }
                if headers.filename != nil {
                    fileCount += 1
                    guard fileCount <= Self.maxFiles else {
                        return replyError(400, "more than \(Self.maxFiles) files in one request", code: "invalid_request")
                    }
                    return startUpload(headers, pump: pump)
                }
                currentPart = headers
                textBytes = []
            case .bytes where skippingPart:
                continue
            case .partEnd where skippingPart:
                skippingPart = false
            case .bytes(let bytes):
                textTotal += bytes.count
                guard textTotal <= Self.maxTextFields else {
                    return replyError(413, "the request's text fields exceed \(Self.maxTextFields >> 10) KiB", code: "request_too_large")
                }
                textBytes += bytes
            case .partEnd:
                if let part = currentPart {
                    fields[Self.fieldName(part.name), default: []].append(.text(String(decoding: textBytes, as: UTF8.self)))
                }
                currentPart = nil
                textBytes = []
            case .end:
                self.pump = nil
                return submit()
            case .wouldBlock:
                return
            case .failed(let message):
                return replyError(400, message, code: "invalid_request")
            }
        }
    }

    /// The request field a multipart part fills: `x[]` (the form convention OpenAI's SDK uses
    /// for a list, e.g. several `image[]`) is field `x`, its parts a list in order.
    static func fieldName(_ partName: String) -> String {
        partName.hasSuffix("[]") && partName.utf8.count > 2 ? String(partName.dropLast(2)) : partName
    }

    private func startUpload(_ part: MultipartPartHeaders, pump: GradioMultipartPump) {
        let boundary = "tollgate-" + sessionHash
        let provider = GradioUploadBody(pump: pump, boundary: boundary, filename: part.filename, contentType: part.contentType)
        upload = provider
        let url = options.endpoint.baseURL + config.apiPrefix + "/upload"
        let request = backend.request(url, method: "POST", contentType: "multipart/form-data; boundary=\(boundary)",
                                      body: .stream(length: nil), maxBytes: Self.maxSmallReply)
        pending = BufferedCall.start(request, on: backend.backendLoop, bodyProvider: provider) { reply in
            self.pending = nil
            self.upload = nil
            self.uploadArrived(reply, part: part, provider: provider)
        }
    }

    private func uploadArrived(_ reply: BufferedReply, part: MultipartPartHeaders, provider: GradioUploadBody) {
        if let failure = provider.failure { return replyError(400, failure, code: "invalid_request") }
        guard reply.outcome == .completed else { return end(BackendOutcome(reply.outcome)) }
        guard reply.status == 200 else {
            // 413 (over the app's max_file_size) and 400 (file type) are about the file: the
            // client's to see. Anything else is the app's trouble.
            let detail = String(decoding: reply.body.prefix(300), as: UTF8.self)
            if reply.status == 413 || reply.status == 400 {
                return replyError(reply.status, "the Space refused the file \(part.name): \(detail)", code: "invalid_request")
            }
            return end(.broken("POST /upload answered \(reply.status): \(detail)"))
        }
        guard let path = (try? JSONValue.parse(reply.body))?[0]?.stringValue else {
            return end(.broken("POST /upload answered without a file path"))
        }
        fields[Self.fieldName(part.name), default: []].append(.file(path: path, name: part.filename, mimeType: part.contentType))
        drivePump()
    }

    // MARK: Call

    private func submit() {
        phase = .submitting
        submittedAt = loop.now
        let fnIndex = config.functionIndex[options.apiNameInConfig]
        // A stream stays on `/call`: the queue protocol sends a generator's outputs as diffs.
        queueProtocol = config.withholdsErrorText && !relaysStream && fnIndex != nil
        let data = GradioDataArray.body(inputs: options.inputs, fields: fields, sessionHash: sessionHash,
                                        queueFunction: queueProtocol ? fnIndex : nil)
        fields = [:]
        let url = options.endpoint.baseURL + config.apiPrefix
            + (queueProtocol ? "/queue/join" : "/call/" + options.apiPathSegment)
        let request = backend.request(url, method: "POST", contentType: "application/json", body: .bytes(data),
                                      maxBytes: Self.maxSmallReply)
        // Strong: a cancel during the POST keeps this call until the answer names the job.
        pending = BufferedCall.start(request, on: backend.backendLoop) { reply in
            self.pending = nil
            self.submitted(reply)
        }
    }

    private func submitted(_ reply: BufferedReply) {
        let eventID = reply.isSuccess ? (try? JSONValue.parse(reply.body))?["event_id"]?.stringValue : nil
        self.eventID = eventID
        guard sink != nil else {
            // Cancelled while the POST was in flight.
            sendQueueCancel()
            return
        }
        guard reply.outcome == .completed else { return end(BackendOutcome(reply.outcome)) }
        guard reply.status == 200 else {
            if reply.status == 404 { backend.forgetConfig() }
            // A redirect or an odd success is no answer of Gradio's: the app is not right.
            guard reply.status >= 400 else { return end(.broken("POST /call answered \(reply.status)")) }
            let detail = (try? JSONValue.parse(reply.body))?["detail"]?.stringValue
                ?? String(decoding: reply.body.prefix(300), as: UTF8.self)
            // Gradio's own statuses (routes.py queue_join_helper): 503 queue full or stopped,
            // 422 validator error, 400 error. Passed on, so a 5xx fails over and a 4xx reaches
            // the client with the app's reason.
            return replyError(reply.status, "the Space answered POST /call with \(reply.status): \(detail)", code: nil)
        }
        guard let eventID, !eventID.isEmpty else { return end(.broken("POST /call answered without an event_id")) }
        openStream(eventID)
    }

    private func openStream(_ eventID: String) {
        phase = .streaming
        let url = queueProtocol
            ? options.endpoint.baseURL + config.apiPrefix + "/queue/data?session_hash=" + sessionHash
            : options.endpoint.baseURL + config.apiPrefix + "/call/" + options.apiPathSegment + "/"
                + HFSpaceBackendOptions.pathSegment(eventID)
        let request = backend.request(url, accept: "text/event-stream")
        let transfer = UpstreamTransfer(request: request, multi: backend.multi, delegate: self)
        if !transfer.isFinished { stream = transfer }
    }

    // MARK: UpstreamTransferDelegate (the SSE stream)

    func upstreamHead(_ transfer: UpstreamTransfer, status: Int, headers: [(String, String)]) {
        streamStatus = status
    }

    func upstreamBody(_ transfer: UpstreamTransfer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard sink != nil, terminal == nil, streamStatus == 200 else { return true }
        let parsed: [GradioEvent]
        do throws(GradioEventParser.Failure) {
            parsed = try events.feed(bytes)
        } catch {
            terminal = GradioEvent(name: "error", data: Array(#""an event from the app exceeds 64 MiB""#.utf8))
            schedule { self.streamEnded() }
            return true
        }
        for received in parsed {
            guard let event = queueProtocol ? Self.callEvent(fromQueueMessage: received.data) : received else { continue }
            switch event.name {
            case "complete", "error":
                jobOver = true
                terminal = event
                schedule { self.streamEnded() }
                return true
            case "generating" where relaysStream:
                guard let value = try? JSONValue.parse(event.data), let out = value[options.output] else { continue }
                let shown = GradioResultFiles.withoutURLs(out, fileRoute: fileRoute)
                relay.enqueue(Array("event: generating\ndata: ".utf8) + shown.serialized + Array("\n\n".utf8))
            case "process_starts" where queueProtocol:
                // The queue protocol says when a worker took the job: the time before that was
                // spent in the app's queue (the `/call` stream does not say).
                if queueTime == nil { queueTime = .nanoseconds(Int64(clamping: loop.now &- submittedAt)) }
            default:
                continue  // heartbeat, or generating when only the result is wanted
            }
        }
        return flushRelay()
    }

    func upstreamReadBody(_ transfer: UpstreamTransfer, into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        .end
    }

    /// A queue-protocol message (`data: {"msg":…}`, server_messages.py) as the `/call` event
    /// it stands for: `process_completed` → `complete` (its `output.data`) or `error` (its
    /// `output.error` and `title`), `unexpected_error` → `error` (its `message`); nil for the
    /// rest (estimation, progress, log, heartbeat, generating — diffs, not outputs — and close).
    static func callEvent(fromQueueMessage data: [UInt8]) -> GradioEvent? {
        guard let message = try? JSONValue.parse(data) else { return nil }
        switch message["msg"]?.stringValue {
        case "process_completed":
            let output = message["output"] ?? .null
            if message["success"]?.boolValue == true {
                return GradioEvent(name: "complete", data: (output["data"] ?? .null).serialized)
            }
            var error = JSONObject()
            error["error"] = output["error"] ?? .null
            error["title"] = output["title"] ?? message["title"] ?? .null
            return GradioEvent(name: "error", data: JSONValue.object(error).serialized)
        case "unexpected_error":
            return GradioEvent(name: "error", data: (message["message"] ?? .null).serialized)
        case "process_starts":
            return GradioEvent(name: "process_starts", data: [])
        default:
            return nil
        }
    }

    func upstreamEnded(_ transfer: UpstreamTransfer, outcome: UpstreamOutcome) {
        stream = nil
        guard sink != nil, terminal == nil else { return }
        jobOver = true
        let failure: BackendOutcome
        if outcome != .completed {
            failure = BackendOutcome(outcome)
        } else if streamStatus != 200 {
            failure = .broken("GET /call/…/<event_id> answered \(streamStatus)")
        } else {
            failure = .broken("the app's event stream ended without a result")
        }
        schedule { self.end(failure) }
    }

    /// Where the app serves a file by path (`/file=`; Gradio 4 has no prefix, §1.3).
    private var fileRoute: String { options.endpoint.baseURL + config.apiPrefix + "/file=" }

    // MARK: Result

    private func streamEnded() {
        stream?.cancel()
        stream = nil
        guard let event = terminal else { return }
        let data = (try? JSONValue.parse(event.data)) ?? .null
        if event.name == "error" { return failed(data) }
        guard let out = data[options.output] else {
            return end(.jobFailed("the app's result has no output \(options.output)"))
        }
        output = out
        phase = .fetching
        switch call.operation {
        case .imageGenerations, .imageEdits:
            files = GradioResultFiles.files(in: out, fileRoute: fileRoute)
            if files.isEmpty {
                // No FileData: strings (data URIs, base64, URLs) as ResultShaper reads them.
                for item in ResultShaper.imageItems(out) {
                    switch item {
                    case .base64(let text): inlineImages.append(text)
                    // As many fetches as for FileData, whatever the app lists.
                    case .url(let url) where files.count < GradioResultFiles.maxFiles:
                        files.append(.init(url: url, mimeType: nil))
                    case .url: continue
                    }
                }
            }
        case .run:
            files = GradioResultFiles.files(in: out, fileRoute: fileRoute)
        default:
            files = []
        }
        fetchNext()
    }

    /// An `error` event: a ZeroGPU quota refusal, or the job's failure with the app's text.
    private func failed(_ data: JSONValue) {
        // Gradio ≥ 6.13: {"error","title",…}; before, null (§1.2); an unexpected server
        // error: a JSON string.
        let message = data["error"]?.stringValue ?? data.stringValue
        let title = data["title"]?.stringValue
        if let quota = ZeroGPUQuota.parse(title: title, message: message) {
            let until = quota.retryAfter.map { loop.now &+ $0.nanoseconds }
            return end(.quotaExhausted(quota.reason, until: until))
        }
        let text = ZeroGPUQuota.stripTags(message ?? "")
        if !text.isEmpty { return end(.jobFailed(String(text.prefix(500)))) }
        end(.jobFailed("the app's function failed (this Gradio version sends /call clients no error text)"))
    }

    private func fetchNext() {
        guard sink != nil else { return }
        // Only the app's own origin gets our token (SPEC §7); another URL is not fetched. Skipped
        // in a loop: how many there are is the app's choice, so never one stack frame each.
        while fetched.count < files.count, !OriginPolicy.isSameOrigin(files[fetched.count].url, options.endpoint.baseURL) {
            fetched.append(nil)
        }
        guard fetched.count < files.count else { return finishResult() }
        let ref = files[fetched.count]
        guard fileBudget > 0 else { return end(.tooLarge) }
        pending = BufferedCall.start(backend.request(ref.url, maxBytes: fileBudget), on: backend.backendLoop) { reply in
            self.pending = nil
            guard reply.isSuccess else {
                if reply.outcome == .tooLarge { return self.end(.tooLarge) }
                return self.end(.broken("fetching a result file answered \(reply.status) (\(reply.outcome))"))
            }
            self.fileBudget -= reply.body.count
            if self.files[self.fetched.count].mimeType == nil, let type = reply.contentType {
                self.files[self.fetched.count].mimeType = type
            }
            self.fetched.append(reply.body)
            self.fetchNext()
        }
    }

    private func finishResult() {
        phase = .replying
        switch call.operation {
        case .imageGenerations, .imageEdits:
            guard !inlineImages.isEmpty || fetched.contains(where: { $0 != nil }) else {
                return end(.jobFailed("the app's result has no image the gateway can return"))
            }
            replyJSON(imageListReply())
        case .audioTranscriptions:
            guard let text = ResultShaper.transcription(output) else {
                return end(.jobFailed("the app's result has no transcription text"))
            }
            replyJSON(text.serialized)
        case .audioDiarization:
            guard let shaped = ResultShaper.diarization(output, model: call.model) else {
                return end(.jobFailed("the app's result has no diarization segments"))
            }
            replyJSON(shaped.serialized)
        case .run:
            var shaped = GradioResultFiles.serializedReplacingURLs(in: output, files: &fetched, mimeTypes: files.map(\.mimeType),
                                                                    fileRoute: fileRoute)
            output = .null
            if relaysStream {
                shaped.insert(contentsOf: Array("event: complete\ndata: ".utf8), at: 0)
                shaped += Array("\n\n".utf8)
                relay.enqueue(shaped)
                relay.finish(BackendReport(outcome: .completed, queueTime: queueTime))
                _ = flushRelay()
            } else {
                replyJSON(shaped)
            }
        case .chatCompletions, .completions, .embeddings:
            end(.jobFailed("unreachable"))
        }
    }

    /// ResultShaper.imageList's shape, `{"created":…,"data":[{"b64_json":…},…]}`, written
    /// straight from the fetched files: each is base64-encoded into the reply and let go, so a
    /// large result is held about twice (its bytes, its base64), not five times (bytes, base64
    /// string, JSON value, serialized copy). Base64 text needs no JSON escaping (RFC 8259 §7):
    /// `inlineImages` passed Base64.decode, so they are alphabet and `=` only.
    private func imageListReply() -> [UInt8] {
        let created = Int(clamping: wallClockSeconds())
        var out = Array("{\"created\":\(created),\"data\":[".utf8)
        let fileBytes = fetched.reduce(0) { $0 &+ ($1?.count ?? 0) }
        let inlineBytes = inlineImages.reduce(0) { $0 &+ $1.utf8.count }
        out.reserveCapacity(inlineBytes &+ fileBytes / 3 &* 4 &+ (inlineImages.count &+ fetched.count) &* 24 &+ 64)
        var first = true
        func open() {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out += Array("{\"b64_json\":\"".utf8)
        }
        for text in inlineImages {
            open()
            out += Array(text.utf8)
            out += Array("\"}".utf8)
        }
        inlineImages = []
        for index in fetched.indices {
            guard let bytes = fetched[index] else { continue }
            fetched[index] = nil
            open()
            var encoder = Base64Encoder()
            encoder.encode(bytes, into: &out)
            encoder.finish(into: &out)
            out += Array("\"}".utf8)
        }
        out += Array("]}".utf8)
        return out
    }

    private func wallClockSeconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }

    // MARK: - Replies and ends

    private func replyJSON(_ bytes: [UInt8]) {
        guard let sink else { return }
        phase = .replying
        let reply = GeneratedReply(status: 200, contentType: "application/json", body: bytes,
                                   report: BackendReport(outcome: .completed, queueTime: queueTime), loop: loop, sink: sink)
        self.reply = reply
        reply.start()
    }

    private func replyError(_ status: Int, _ message: String, code: String?) {
        guard let sink else { return }
        cancelTransfers()
        phase = .replying
        let reply = GeneratedReply(errorStatus: status, message: message, code: code,
                                   report: BackendReport(outcome: .completed, queueTime: queueTime), loop: loop, sink: sink)
        self.reply = reply
        reply.start()
    }

    /// Ends the call without a reply of its own (the gateway answers, or fails over).
    private func end(_ outcome: BackendOutcome) {
        guard let sink else { return }
        cancelTransfers()
        if !jobOver { sendQueueCancel() }
        phase = .done
        if relay.headSent {
            // Part of a stream went out: end it (the gateway closes it with an error event).
            relay.finish(BackendReport(outcome: outcome, queueTime: queueTime))
            _ = flushRelay()
            return
        }
        self.sink = nil
        sink.backendEnded(BackendReport(outcome: outcome, queueTime: queueTime))
    }

    /// Sends what the stream relay holds; false when the client is slow (the SSE transfer then
    /// pauses until `resumeReceiving`). The sink may cancel from inside any of its calls: it
    /// is looked up again after each, and no access to `relay` spans one.
    private func flushRelay() -> Bool {
        guard sink != nil else { return true }
        if relay.paused { return false }
        if !relay.headSent, relay.hasQueued {
            relay.headSent = true
            sink?.backendHead(status: 200, headers: [("content-type", "text/event-stream"), ("cache-control", "no-cache")],
                              contentLength: nil)
        }
        while let sink, let event = relay.dequeue() {
            if !event.withUnsafeBytes({ sink.backendBody($0) }) {
                relay.paused = true
                return false
            }
        }
        if let report = relay.endReport, let sink {
            phase = .done
            self.sink = nil
            sink.backendEnded(report)
        }
        return true
    }

    private func cancelTransfers() {
        pending?.cancel()
        pending = nil
        stream?.cancel()
        stream = nil
        if let timer { loop.cancel(timer) }
        timer = nil
        timerAction = nil
    }

    /// Asks Gradio to drop the job (queued) or stop it (running). Sent detached: it outlives us.
    private func sendQueueCancel() {
        guard !jobOver else { return }
        jobOver = true
        guard let eventID else { return }
        let fnIndex = config.functionIndex[options.apiNameInConfig] ?? -1
        let payload = "{\"session_hash\":\(JSONText.quoted(sessionHash)),\"fn_index\":\(fnIndex),\"event_id\":\(JSONText.quoted(eventID))}"
        let request = backend.request(options.endpoint.baseURL + config.apiPrefix + "/cancel", method: "POST",
                                      contentType: "application/json", body: .bytes(Array(payload.utf8)), maxBytes: 64 << 10)
        backend.backendLoop.detachedCalls.start(request)
    }

    // MARK: - BackendInvocation

    func resumeReceiving() {
        if let reply { return reply.resumeReceiving() }
        relay.paused = false
        if flushRelay() { stream?.resumeReceiving() }
    }

    func bodyReadable() {
        guard sink != nil, phase == .body else { return }
        if let pending, upload != nil { return pending.bodyReadable() }
        switch call.bodyFormat {
        case .json: readJSON()
        case .multipart: drivePump()
        }
    }

    func cancel() {
        guard sink != nil else { return }
        sink = nil
        reply?.cancel()
        reply = nil
        if phase == .submitting, pending != nil {
            // Its completion sends the queue cancel once the event id is known.
            if let timer { loop.cancel(timer) }
            timer = nil
            timerAction = nil
            return
        }
        cancelTransfers()
        sendQueueCancel()
    }
}
