// SPDX-License-Identifier: Apache-2.0
// One client request ↔ its upstream attempts. Reads the body as it arrives and finds the model
// in it without decoding it, picks the model's candidates in order, streams the (rewritten)
// body to the backend, relays the response chunk by chunk with backpressure both ways, fails
// over per SPEC §3's outcome table while nothing has reached the client, and ends with the
// facts the usage record needs. Every upstream reply passes the adapter's header allowlist;
// a plain reply's head waits for its first body byte (a reply that breaks before it still
// becomes a clean 502), its declared length is held to, and its upstream text never carries
// our backend secrets. Loop-confined.
import CLinux
import TollgateBackends
import TollgateHTTP
import TollgateIO
import TollgateUpstream
import TollgateCore

final class ProxyExchange: HTTPExchangeDelegate {
    /// Bodies up to this size are kept whole, so a failed attempt can be replayed on the next
    /// candidate; larger ones stream once (no failover after their first byte left).
    static let replayLimit = 8 << 20
    /// Buffered-but-unsent body bytes above which the client's upload is paused.
    static let bodyHighWater = 1 << 20
    static let bodyLowWater = 256 << 10
    /// A chunked body's reservation grows by this much at a time (its length is unknown).
    static let budgetStep = 1 << 20
    /// One read of the HTTP layer (its scratch buffer): what may arrive before a pause acts.
    static let readSlack = 64 << 10
    /// How long a request that already holds body bytes waits for more budget before it is
    /// refused (503 `server_busy`), so holders waiting on each other cannot wait forever.
    static let budgetGrowthWaitNs: UInt64 = 10_000_000_000

    let exchange: HTTPExchange
    /// The plan (and its adapters) this request started with; a reload does not change it.
    private let context: PlanRuntime
    private var plan: GatewayPlan { context.plan }
    let operation: APIOperation
    let user: UserPlan
    let keyID: String

    // Request body.
    private var scanner = JSONRequestScanner()
    private var body: RequestBodyBuffer
    /// Absolute offset of `body[0]` (bytes before it were sent and dropped).
    private var bodyBase = 0
    private var bodyComplete = false
    private var replayable = true
    /// This request's share of `server.max_buffered`.
    private let lease: BodyBudgetLease
    /// Reading paused until the budget grants more.
    private var pausedForBudget = false
    /// Where `stream_options.include_usage` must be made true (chat and completions).
    private var streamOptions = StreamOptionsLocator()
    private var locatesStreamOptions: Bool { operation != .embeddings }
    /// Body bytes received and not yet taken by the current attempt.
    private var unsentBodyBytes: Int { bodyBase + body.count - readCursor }

    // Routing and attempts.
    private(set) var modelPlan: ModelPlan?
    private var dispatched = false
    private var attempt = 0
    private var maxAttempts = 0
    private(set) var backendIndex: Int?
    /// The attempt in charge; every report goes through it and counts only while it is current.
    private var current: ProxyAttempt?
    private var invocation: (any BackendInvocation)? { current?.invocation }
    private var lastFailure: (status: Int, code: String, message: String)?
    private var failureReasons: [String] = []

    // The body as sent to the current attempt: original bytes with edits applied.
    private var readCursor = 0
    private var edits: [StreamOptionsLocator.Edit] = []
    private var editIndex = 0
    private var insertOffset = 0
    /// This attempt asks the upstream for usage (streamed chat to an OpenAI-compatible server).
    private var injectUsage = false
    /// How many of `streamOptions.edits` this attempt has taken into `edits`.
    private var usageEditsTaken = 0

    // Response of the current attempt.
    /// Its status is passed on: no failover because of it (a failure before the client got a
    /// byte may still fail over).
    private var committed = false
    private var collectingError = false
    private var errorStatus = 0
    private var errorBody: [UInt8] = []
    private var isSSE = false
    private var framer = SSEEventFramer()
    /// A plain reply's head, sent with its first body byte (or at its end).
    private var pendingHead: (status: Int, headers: HTTPHeaders, contentType: String, length: Int?)?
    /// The length the client was promised, and the bytes sent towards it.
    private var declaredLength: Int?
    private var relayedBytes = 0
    /// A passed-through 4xx goes through the secret redactor (it may echo our Authorization).
    private var redactBody = false
    private var redactionCarry: [UInt8] = []
    private var inLiveStreams = false
    private var upstreamStart: UInt64 = 0
    private(set) var firstByteAt: UInt64 = 0
    private(set) var upstreamSeconds: Double = 0
    private(set) var usage = TokenUsage()
    private(set) var coldStart = false
    private(set) var errorText: String?

    init(exchange: HTTPExchange, context: PlanRuntime, operation: APIOperation, user: UserPlan, keyID: String,
         budget: RequestBodyBudget) {
        self.exchange = exchange
        self.lease = BodyBudgetLease(budget: budget, loop: context.loop)
        if case .length(let n) = exchange.head.framing { body = RequestBodyBuffer(expected: n) } else { body = RequestBodyBuffer(expected: nil) }
        self.context = context
        self.operation = operation
        self.user = user
        self.keyID = keyID
    }

    var attempts: Int { attempt }
    /// The number of the attempt whose reports count (0 before the first).
    var currentAttemptNumber: Int { current?.number ?? 0 }
    var modelName: String? { modelPlan?.name ?? scanner.model }
    /// The backend of the current (or last) attempt.
    private(set) var backendName: String?

    // MARK: - Request body

    /// Starts reading the body once its share of `server.max_buffered` is reserved (SPEC §2):
    /// its declared length, or a first step of a chunked one. Until then the body stays in the
    /// client's kernel (no `100 Continue` either), and the request waits its turn.
    func start() {
        exchange.delegate = self  // a client that hangs up while waiting is still heard
        let wanted: Int
        switch exchange.head.framing {
        case .length(let n): wanted = n
        case .chunked: wanted = Self.budgetStep
        case .none: wanted = 0
        }
        if wanted == 0 || lease.grow(by: wanted, then: { [weak self] in self?.budgetGranted() }) {
            exchange.readBody(delegate: self)
        }
    }

    private func budgetGranted() {
        guard !exchange.isFinished else {
            lease.releaseAll()
            return
        }
        exchange.readBody(delegate: self)  // the first grant; later ones resume a paused body
        if pausedForBudget {
            pausedForBudget = false
            if unsentBodyBytes <= Self.bodyHighWater { exchange.resumeBody() }
        }
    }

    /// Called with every body piece: makes sure the next read still fits the reservation.
    /// A body whose `model` is unknown when its whole reservation is used (its length exceeds
    /// `server.max_buffered`) cannot be dispatched without holding more: 413.
    private func keepWithinBudget() {
        guard !bodyComplete else { return }
        let expected: Int
        if case .length(let n) = exchange.head.framing { expected = n - exchange.bodyBytesIn } else { expected = Self.readSlack }
        guard body.count + min(expected, Self.readSlack) > lease.reserved else { return }
        if !dispatched && lease.reserved >= lease.capacity {
            guard scanner.model != nil else {
                fail(413, code: "request_too_large",
                     message: "The request's `model` must come within the first \(lease.capacity) bytes of its body (server.max_buffered).",
                     closeConnection: true)
                return
            }
            dispatch()  // stream it on: what was sent is released as it goes
            return
        }
        let granted = lease.grow(by: Self.budgetStep, limitNs: Self.budgetGrowthWaitNs,
                                 then: { [weak self] in self?.budgetGranted() },
                                 gaveUp: { [weak self] in self?.budgetWaitGaveUp() })
        if !granted {
            pausedForBudget = true
            exchange.pauseBody()
        }
    }

    private func budgetWaitGaveUp() {
        var headers = HTTPHeaders()
        headers.add("retry-after", "1")
        fail(503, code: "server_busy",
             message: "The gateway holds server.max_buffered bytes of request bodies and could not take more of this one; retry shortly.",
             closeConnection: true, headers: headers)
    }

    /// Once dispatched, a request holds at most its replay window plus the unsent high-water
    /// mark (and one read); a body that can no longer be replayed, only what is unsent; a
    /// complete body, just itself. The rest goes back — by whole steps only, so a streaming
    /// upload does not give back and take again a little on every chunk.
    private func shrinkReservation() {
        let target: Int
        if bodyComplete {
            target = body.count
        } else if !replayable {
            target = body.count + Self.bodyHighWater + 2 * Self.readSlack
        } else {
            target = max(body.count, Self.replayLimit) + Self.bodyHighWater + 2 * Self.readSlack
        }
        if bodyComplete || lease.reserved - target >= Self.budgetStep { lease.shrink(to: target) }
    }

    func exchangeBody(_ exchange: HTTPExchange, _ bytes: UnsafeRawBufferPointer) {
        scanner.scan(bytes)
        if let rejection = scanner.rejection {
            refuse(rejection, closeConnection: true)
            return
        }
        if locatesStreamOptions { streamOptions.follow(bytes, scannedBy: scanner) }
        guard body.append(bytes) else {
            fail(503, code: "server_overloaded", message: "The gateway is out of memory for request bodies; retry shortly.",
                 closeConnection: true)
            return
        }
        absorbUsageEdits()
        if !dispatched {
            if scanner.model != nil && bodyBase + body.count > Self.replayLimit { dispatch() }
        } else {
            invocation?.bodyReadable()
            if unsentBodyBytes > Self.bodyHighWater { exchange.pauseBody() }
        }
        if !exchange.isFinished { keepWithinBudget() }
    }

    func exchangeBodyEnded(_ exchange: HTTPExchange) {
        bodyComplete = true
        scanner.finish()
        if let rejection = scanner.rejection {
            refuse(rejection, closeConnection: false)
            return
        }
        streamOptions.finish()
        absorbUsageEdits()
        if !dispatched { dispatch() } else {
            shrinkReservation()
            invocation?.bodyReadable()
        }
    }

    /// SPEC §3: malformed JSON is 400 `invalid_json`; a body that parsers would read in
    /// different ways (an escaped top-level name, a duplicate `model`) is 400 `invalid_request`,
    /// so what the gateway authorises and prices is what the backend runs.
    private func refuse(_ rejection: JSONRequestScanner.Rejection, closeConnection: Bool) {
        switch rejection {
        case .notAnObject:
            fail(400, code: "invalid_json", message: "The request body must be a JSON object.", closeConnection: closeConnection)
        case .malformed(let why):
            fail(400, code: "invalid_json", message: "The request body is not valid JSON: \(why).", closeConnection: closeConnection)
        case .invalidRequest(let why):
            fail(400, code: "invalid_request", message: "The request body is ambiguous: \(why).", closeConnection: closeConnection)
        }
    }

    // MARK: - Routing (SPEC §3 order: model 404/403, then body 400)

    private func dispatch() {
        guard !dispatched, !exchange.isFinished else { return }
        dispatched = true
        shrinkReservation()
        guard let name = scanner.model else {
            fail(400, code: "missing_model", message: "You must provide a model parameter.")
            return
        }
        guard let model = plan.model(named: name) else {
            fail(404, code: "model_not_found", message: "The model `\(name)` does not exist or is not served by this gateway.")
            return
        }
        guard user.mayUse(name) else {
            fail(403, code: "model_not_allowed", message: "Your key may not use the model `\(name)`.")
            return
        }
        guard Self.operation(operation, suits: model.task) else {
            fail(400, code: "wrong_model_task", message: "The model `\(name)` is a \(model.task.rawValue) model and cannot serve \(operation.rawValue).")
            return
        }
        modelPlan = model
        maxAttempts = min(max(model.attempts, 1), model.backends.count)
        tryNextCandidate()
    }

    private static func operation(_ op: APIOperation, suits task: ModelTask) -> Bool {
        switch op {
        case .chatCompletions: return task == .chat
        case .completions: return task == .completion || task == .chat
        case .embeddings: return task == .embedding
        }
    }

    private func tryNextCandidate() {
        guard let model = modelPlan, !exchange.isFinished else { return }
        guard attempt < maxAttempts, replayable || attempt == 0 else {
            failFinally()
            return
        }
        let index = model.backends[attempt]
        attempt += 1
        backendIndex = index
        let backend = plan.backends[index]
        backendName = backend.name
        resetResponse()
        prepareBody(for: backend, clientModel: model.name)
        let call = BackendCall(operation: operation, model: model.name,
                               upstreamModel: backend.upstreamModel ?? model.name,
                               stream: scanner.stream ?? false,
                               bodyLength: bodyComplete ? (bodyBase + body.count) + editDelta : nil,
                               requestID: exchange.id.description,
                               accept: exchange.head.value(of: "accept"))
        upstreamStart = context.loop.now
        current?.retire(loop: context.loop, cancelCall: true)
        let next = ProxyAttempt(number: attempt, owner: self)
        current = next
        firstByteTimeoutNs = backend.firstByteTimeoutNs
        // The first-byte clock starts once the whole body is with the backend: a 100 MB
        // upload must not count against the time the model has to start answering.
        if bodyComplete { armFirstByteTimer() }
        let started = context.adapter(index).invoke(call, body: next, sink: next)
        // Adapters never report inside `invoke`; should one do so anyway, the attempt it ended
        // is over (and a later one may be current): its call is stopped, never stored over the
        // live one.
        if current === next && !next.isOver { next.invocation = started } else { started.cancel() }
    }

    /// Forgets the previous attempt's reply.
    private func resetResponse() {
        committed = false
        collectingError = false
        errorStatus = 0
        errorBody = []
        isSSE = false
        framer = SSEEventFramer()
        pendingHead = nil
        declaredLength = nil
        relayedBytes = 0
        redactBody = false
        redactionCarry = []
    }

    /// Sets up the rewrite for this attempt: the model renamed for the backend, and, for
    /// streamed chat to an OpenAI-compatible server, `stream_options.include_usage` made true
    /// so the last chunk carries usage even when the client declined it (the client then does
    /// not get that chunk).
    private func prepareBody(for backend: BackendPlan, clientModel: String) {
        readCursor = 0
        editIndex = 0
        insertOffset = 0
        edits = []
        if let upstream = backend.upstreamModel, upstream != clientModel, let range = scanner.modelRange {
            edits.append(.init(at: range.lowerBound, remove: range.count, insert: Array(JSONText.quoted(upstream).utf8)))
        }
        if case .openai = backend.kind {
            injectUsage = operation == .chatCompletions && scanner.stream == true
        } else {
            injectUsage = false
        }
        usageEditsTaken = 0
        absorbUsageEdits()
    }

    /// Takes the usage edits found since the last call into this attempt's edits, in order.
    /// They lie ahead of what was sent (the locator sees bytes before the upstream can).
    private func absorbUsageEdits() {
        guard injectUsage else { return }
        while usageEditsTaken < streamOptions.edits.count {
            let edit = streamOptions.edits[usageEditsTaken]
            usageEditsTaken += 1
            guard edit.at >= readCursor else { continue }
            var i = edits.count
            while i > editIndex && edits[i - 1].at > edit.at { i -= 1 }
            edits.insert(edit, at: i)
        }
    }

    private var editDelta: Int {
        edits.reduce(0) { $0 + $1.insert.count - $1.remove }
    }

    // MARK: - RequestBodySource (the upstream pulls the body)

    func attemptReadBody(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        if exchange.isAborted { return .abort }
        guard let out = buffer.baseAddress else { return .wouldBlock }
        var written = 0
        while written < buffer.count {
            if editIndex < edits.count && readCursor == edits[editIndex].at {
                let edit = edits[editIndex]
                let n = min(edit.insert.count - insertOffset, buffer.count - written)
                if n > 0 {
                    edit.insert.withUnsafeBytes { src in
                        if let from = src.baseAddress { (out + written).copyMemory(from: from + insertOffset, byteCount: n) }
                    }
                }
                written += n
                insertOffset += n
                if insertOffset == edit.insert.count {
                    readCursor += edit.remove
                    editIndex += 1
                    insertOffset = 0
                }
                continue
            }
            var limit = editIndex < edits.count ? edits[editIndex].at : Int.max
            // A value whose edit is not decided yet waits for the bytes that decide it.
            if injectUsage, let hold = streamOptions.holdFrom { limit = min(limit, hold) }
            let available = min(bodyBase + body.count, limit) - readCursor
            guard available > 0 else { break }
            let n = min(available, buffer.count - written)
            body.copy(from: readCursor - bodyBase, count: n, to: out + written)
            written += n
            readCursor += n
        }
        if written > 0 {
            releaseSentBody()
            return .bytes(written)
        }
        if bodyComplete && readCursor >= bodyBase + body.count && editIndex >= edits.count {
            if firstByteAt == 0 { armFirstByteTimer() }
            return .end
        }
        return .wouldBlock
    }

    /// Past the replay limit, bytes already sent are dropped so a huge upload stays bounded.
    private func releaseSentBody() {
        if bodyBase + body.count > Self.replayLimit && readCursor - bodyBase > 64 << 10 { dropSentBody() }
        if exchange.isBodyPaused && !pausedForBudget && unsentBodyBytes < Self.bodyLowWater {
            exchange.resumeBody()
        }
    }

    /// Drops what the current attempt has sent: no later attempt can replay it (the body is
    /// past the replay window, or a reply was committed), so its memory and its share of
    /// `server.max_buffered` go back.
    private func dropSentBody() {
        let sent = readCursor - bodyBase
        guard sent > 0 else { return }
        body.removeFirst(sent)
        bodyBase += sent
        replayable = false
        if dispatched { shrinkReservation() }
    }

    func attemptBufferedBody() -> [UInt8]? {
        bodyComplete && bodyBase == 0 ? body.contiguous() : nil
    }

    // MARK: - BackendSink

    func attemptHead(_ attempt: ProxyAttempt, status: Int, headers: [(String, String)], contentLength: Int?) {
        cancelFirstByteTimer()
        if firstByteAt == 0 { firstByteAt = context.loop.now }
        // SPEC §3: 5xx, 429 and 401/403 (our credentials) are the backend's fault: collect the
        // error text and decide at the end whether another candidate gets the request.
        // A redirect is not followed (curl has FOLLOWLOCATION off) and not passed on: its
        // Location could point the client at the backend's origin (SPEC §7).
        if status >= 500 || status == 429 || status == 401 || status == 403 || (300..<400).contains(status) {
            collectingError = true
            errorStatus = status
            return
        }
        committed = true
        // The adapter passed only SPEC §3's allowlist, with clean values.
        let contentType = headers.first { $0.0 == "content-type" }?.1
        isSSE = contentType?.hasPrefix("text/event-stream") ?? false
        var forwarded = HTTPHeaders()
        for (name, value) in headers where name != "content-type" && !(isSSE && name == "cache-control") {
            forwarded.add(name, value)
        }
        forwarded.add("x-tollgate-backend", backendName ?? "")
        if isSSE {
            // The gateway adds its metering comment to streams, so their length changes.
            forwarded.add("cache-control", "no-cache")
            // As OpenAI does: the usage chunk (`choices: []`) only for a client that asked for
            // it; code reading `chunk.choices[0]` of every chunk would break on it otherwise.
            // The gateway asked the upstream anyway, so the meter still sees it.
            framer.withholdUsage = streamOptions.clientAskedForUsage != true
            beginClientResponse(status: status, headers: forwarded, contentType: contentType, length: nil)
            if !inLiveStreams {
                inLiveStreams = true
                context.liveStreams.add(self)
            }
            return
        }
        // A passed-through 4xx may echo our credentials: redacted, so its length may change.
        redactBody = status >= 400 && !plan.redactor.isEmpty
        declaredLength = redactBody ? nil : contentLength
        pendingHead = (status, forwarded, contentType ?? "application/json", declaredLength)
    }

    /// Sends the plain reply's head, once.
    private func startClientResponse() {
        guard let head = pendingHead else { return }
        pendingHead = nil
        beginClientResponse(status: head.status, headers: head.headers, contentType: head.contentType, length: head.length)
    }

    /// The client gets the head: no failover from here on, so the replay copy goes too.
    private func beginClientResponse(status: Int, headers: HTTPHeaders, contentType: String?, length: Int?) {
        exchange.startResponse(status: status, headers: headers, contentType: contentType, length: length)
        dropSentBody()
    }

    func attemptBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if collectingError {
            if errorBody.count < 64 << 10 { errorBody.append(contentsOf: bytes.prefix(64 << 10 - errorBody.count)) }
            return true
        }
        guard committed, !exchange.isFinished else { return false }
        if isSSE {
            var ok = true
            framer.feed(bytes) { piece in
                switch piece {
                case .bytes(let data): ok = exchange.write(data) && ok
                case .beforeDone: ok = exchange.write(meteringComment()) && ok
                }
            }
            return ok
        }
        startClientResponse()
        if redactBody {
            let out = plan.redactor.redact(bytes, carry: &redactionCarry, final: false)
            return out.isEmpty || out.withUnsafeBytes { exchange.write($0) }
        }
        if let declared = declaredLength, bytes.count > declared - relayedBytes {
            // More than the upstream declared (curl stops at the length, so this guards the
            // client's framing whatever the transport does): send what fits, then close.
            let room = declared - relayedBytes
            if room > 0 { exchange.write(UnsafeRawBufferPointer(rebasing: bytes[0..<room])) }
            relayedBytes = declared
            errorText = "backend_length_mismatch"
            exchange.abort()
            return false
        }
        relayedBytes += bytes.count
        return exchange.write(bytes)
    }

    /// `: tollgate {"gpu_seconds":…,"cost_usd":…,"backend":…}` — an SSE comment, ignored by
    /// clients, carrying what this stream cost so far.
    private func meteringComment() -> String {
        let gpu = MilliGPUSeconds(nanoseconds: context.loop.now &- upstreamStart)
        let cost = backendIndex.map { plan.backends[$0].costModel.cost(of: gpu) } ?? .zero
        return ": tollgate {\"gpu_seconds\":\(gpu.secondsText),\"cost_usd\":\(cost),\"backend\":\(JSONText.quoted(backendName ?? ""))}\n\n"
    }

    func attemptEnded(_ attempt: ProxyAttempt, outcome: BackendOutcome, usage: TokenUsage, reportedGPUSeconds: Double?,
                      coldStart: Bool) {
        attempt.retire(loop: context.loop, cancelCall: false)
        if let reportedGPUSeconds { upstreamSeconds += reportedGPUSeconds } else { chargeUpstreamTime(until: context.loop.now) }
        self.usage = usage
        self.coldStart = self.coldStart || coldStart
        if collectingError {
            attemptFailed(status: errorStatus)
            return
        }
        if !committed {
            failBeforeResponse(outcome, detail: "")
            return
        }
        if !isSSE && !exchange.isResponseStarted && !exchange.isFinished {
            // A plain reply not a byte of which reached the client: it can still get a clean
            // error (or the next candidate), never a 200 head and a cut (issue 7 item 15).
            if outcome == .completed {
                if let declared = declaredLength, declared > relayedBytes {
                    failBeforeResponse(.broken("the body was shorter than its Content-Length"), detail: "")
                    return
                }
            } else {
                failBeforeResponse(outcome, detail: " before its response body")
                return
            }
        }
        // After the first byte a failure can only end the response (SPEC §3).
        if outcome == .completed {
            if isSSE {
                framer.finish { piece in
                    if case .bytes(let data) = piece { exchange.write(data) }
                }
                exchange.finish()
                leaveLiveStreams()
                return
            }
            startClientResponse()
            if redactBody && !redactionCarry.isEmpty {
                let tail = plan.redactor.redact(UnsafeRawBufferPointer(start: nil, count: 0), carry: &redactionCarry, final: true)
                if !tail.isEmpty { tail.withUnsafeBytes { _ = exchange.write($0) } }
            }
            if let declared = declaredLength, relayedBytes != declared {
                errorText = "backend_length_mismatch"
                exchange.abort()
                return
            }
            exchange.finish()
            return
        }
        let message: String
        switch outcome {
        case .timedOut(let m): message = "backend timed out mid-response: \(m)"
        case .tooLarge: message = "backend response exceeded max_response"
        case .connectFailed(let m), .tlsFailed(let m), .broken(let m): message = "backend failed mid-response: \(m)"
        case .completed, .cancelled: message = "backend stopped mid-response"
        }
        let redacted = plan.redactor.redact(message)
        errorText = redacted
        if isSSE {
            endStream(message: redacted, code: "upstream_failed")
        } else {
            exchange.abort()
        }
    }

    /// Ends a stream early with SPEC §3's final `error` event. A partly received event is
    /// dropped, never half-sent, so the error event always parses.
    private func endStream(message: String, code: String) {
        framer.discardPartialEvent()
        let separator = framer.isAtEventBoundary ? "" : "\n\n"
        exchange.write(separator + "event: error\ndata: \(JSONText.errorBody(message: message, type: "server_error", code: code))\n\n")
        exchange.finish()
        leaveLiveStreams()
    }

    /// Maps how an attempt ended, before anything reached the client, onto SPEC §3's table.
    private func failBeforeResponse(_ outcome: BackendOutcome, detail: String) {
        switch outcome {
        case .completed:
            attemptFailed(status: 502, code: "bad_gateway", message: "the backend closed without a response")
        case .connectFailed(let m):
            attemptFailed(status: 502, code: "backend_unreachable", message: m)
        case .tlsFailed(let m):
            // SPEC §3: a certificate the gateway does not trust is not "unreachable".
            attemptFailed(status: 502, code: "backend_tls", message: m)
        case .timedOut(let m):
            attemptFailed(status: 504, code: "backend_timeout", message: m + detail)
        case .broken(let m):
            attemptFailed(status: 502, code: "bad_gateway", message: m + detail)
        case .tooLarge:
            attemptFailed(status: 502, code: "response_too_large", message: "the backend's response exceeds max_response")
        case .cancelled:
            // Only a call the gateway stopped ends so, and then the client is gone; should one
            // end so anyway, the client must still get an answer.
            if !exchange.isFinished { attemptFailed(status: 502, code: "bad_gateway", message: "the backend call was aborted") }
        }
    }

    /// A failure before anything reached the client: remember why, then the next candidate.
    private func attemptFailed(status: Int, code: String? = nil, message: String? = nil) {
        let name = backendName ?? "backend"
        // Upstream text may echo our credentials (an error quoting the request's headers): the
        // body is redacted whole before a message is cut out of it, so no cut can split a
        // secret, and the message again after its escapes were decoded.
        let redactor = plan.redactor
        let upstream = errorBody.isEmpty ? nil : Self.upstreamMessage(redactor.redact(errorBody))
        let text = redactor.redact(message ?? upstream ?? "HTTP \(status)")
        failureReasons.append("\(name): \(text)")
        switch status {
        case 429:
            lastFailure = (503, "no_backend_available", "")
        case 401, 403:
            lastFailure = (502, "backend_misconfigured", "\(name) rejected the gateway's credentials (HTTP \(status))")
        case 504:
            lastFailure = (504, code ?? "backend_timeout", "\(name) did not answer in time: \(text)")
        case 300..<400:
            lastFailure = (502, "backend_redirect", "\(name) answered with a redirect (HTTP \(status)); redirects are not followed")
        default:
            lastFailure = (502, code ?? "bad_gateway", "\(name) failed: \(text)")
        }
        resetResponse()
        tryNextCandidate()
    }

    /// `error.message` (or `error` as a string, or `detail`) from an upstream error body.
    static func upstreamMessage(_ body: [UInt8]) -> String? {
        guard !body.isEmpty else { return nil }
        let bytes = Array(body.prefix(4096))
        for key in ["\"message\"", "\"error\"", "\"detail\""] {
            let pattern = Array(key.utf8)
            guard bytes.count > pattern.count,
                  let at = (0...(bytes.count - pattern.count)).first(where: { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) })
            else { continue }
            var i = at + pattern.count
            while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == UInt8(ascii: ":")) { i += 1 }
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { continue }
            i += 1
            var value: [UInt8] = []
            var escaped = false
            while i < bytes.count {
                let b = bytes[i]
                i += 1
                if escaped { value.append(b); escaped = false; continue }
                if b == UInt8(ascii: "\\") { escaped = true; continue }
                if b == UInt8(ascii: "\"") { return String(decoding: value, as: UTF8.self) }
                value.append(b)
            }
        }
        return String(decoding: bytes.prefix(200), as: UTF8.self)
    }

    private func failFinally() {
        guard let failure = lastFailure else {
            fail(503, code: "no_backend_available", message: "No backend is available for this model.")
            return
        }
        if failure.code == "no_backend_available" {
            fail(503, code: "no_backend_available",
                 message: "No backend could take the request: " + failureReasons.joined(separator: "; "))
        } else {
            fail(failure.status, code: failure.code, message: failure.message)
        }
    }

    private func fail(_ status: Int, code: String, message: String, closeConnection: Bool = false,
                      headers: HTTPHeaders = HTTPHeaders()) {
        errorText = errorText ?? code
        current?.retire(loop: context.loop, cancelCall: true)
        guard !exchange.isResponseStarted else {
            // The attempt was stopped, so it will never end the response: end it here (a
            // body refused after its stream began, e.g. a duplicate past an 8 MiB dispatch).
            if isSSE && committed && !exchange.isFinished {
                endStream(message: message, code: code)
            } else {
                exchange.abort()
            }
            leaveLiveStreams()
            return
        }
        exchange.respondError(status: status, message: message, code: code, headers: headers,
                              close: closeConnection || !exchange.isBodyComplete)
    }

    /// Adds the current attempt's measured upstream time (its start until `now`).
    private func chargeUpstreamTime(until now: UInt64) {
        upstreamSeconds += Double(now &- upstreamStart) / 1e9
    }

    // MARK: - Timers and client events

    private var firstByteTimeoutNs: UInt64 = 0

    private func armFirstByteTimer() {
        guard !committed, !collectingError, !exchange.isFinished else { return }
        current?.armFirstByteTimer(loop: context.loop, timeout: firstByteTimeoutNs)
    }

    private func cancelFirstByteTimer() {
        current?.disarmFirstByteTimer(loop: context.loop)
    }

    /// No response head within `first_byte_timeout`: this attempt failed (SPEC §3 → 504). Its
    /// call is stopped before the next candidate starts, so two never run at once.
    func attemptTimedOut(_ attempt: ProxyAttempt, now: UInt64) {
        guard !committed, !collectingError else { return }
        attempt.retire(loop: context.loop, cancelCall: true)
        chargeUpstreamTime(until: now)
        attemptFailed(status: 504, code: "backend_timeout", message: "no response within first_byte_timeout")
    }

    func exchangeWritable(_ exchange: HTTPExchange) {
        invocation?.resumeReceiving()
    }

    func exchangeAborted(_ exchange: HTTPExchange) {
        // The client is gone: stop the upstream now so no GPU keeps working for nobody.
        if invocation != nil {
            chargeUpstreamTime(until: context.loop.now)
            errorText = "client_closed"
        }
        current?.retire(loop: context.loop, cancelCall: true)
        leaveLiveStreams()
    }

    // MARK: - Drain

    private func leaveLiveStreams() {
        guard inLiveStreams else { return }
        inLiveStreams = false
        context.liveStreams.remove(self)
    }

    /// The drain deadline is here: a stream still running ends with SPEC §3's `error` event
    /// (and its upstream call is stopped) rather than being cut by the closing connection.
    func endForShutdown() {
        leaveLiveStreams()
        guard isSSE, committed, !exchange.isFinished else { return }
        if invocation != nil { chargeUpstreamTime(until: context.loop.now) }
        current?.retire(loop: context.loop, cancelCall: true)
        errorText = "shutting_down"
        endStream(message: "The gateway is shutting down; this stream was ended at its drain deadline.", code: "shutting_down")
    }
}
