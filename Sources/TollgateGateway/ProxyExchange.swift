// SPDX-License-Identifier: Apache-2.0
// One client request ↔ its upstream attempts. Reads the body as it arrives and finds the model
// in it without decoding it, picks the model's candidates in order, streams the (rewritten)
// body to the backend, relays the response chunk by chunk with backpressure both ways, fails
// over per SPEC §3's outcome table while nothing has reached the client, and ends with the
// facts the usage record needs. Loop-confined.
import CLinux
import TollgateBackends
import TollgateHTTP
import TollgateIO
import TollgateUpstream

final class ProxyExchange: HTTPExchangeDelegate {
    /// Bodies up to this size are kept whole, so a failed attempt can be replayed on the next
    /// candidate; larger ones stream once (no failover after their first byte left).
    static let replayLimit = 8 << 20
    /// Buffered-but-unsent body bytes above which the client's upload is paused.
    static let bodyHighWater = 1 << 20
    static let bodyLowWater = 256 << 10

    let exchange: HTTPExchange
    /// The plan (and its adapters) this request started with; a reload does not change it.
    private let context: PlanRuntime
    private var plan: GatewayPlan { context.plan }
    let operation: APIOperation
    let user: UserPlan
    let keyID: String

    // Request body.
    private var scanner = JSONRequestScanner()
    private var body: [UInt8] = []
    /// Absolute offset of `body[0]` (bytes before it were sent and dropped).
    private var bodyBase = 0
    private var bodyComplete = false
    private var replayable = true

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
    private var edits: [(at: Int, remove: Int, insert: [UInt8])] = []
    private var editIndex = 0
    private var insertOffset = 0
    private var injectUsage = false
    private var injectedUsage = false

    // Response.
    private var committed = false
    private var collectingError = false
    private var errorStatus = 0
    private var errorBody: [UInt8] = []
    private var isSSE = false
    private var splicer = SSEDoneSplicer()
    private var upstreamStart: UInt64 = 0
    private(set) var firstByteAt: UInt64 = 0
    private(set) var upstreamSeconds: Double = 0
    private(set) var usage = TokenUsage()
    private(set) var coldStart = false
    private(set) var errorText: String?

    init(exchange: HTTPExchange, context: PlanRuntime, operation: APIOperation, user: UserPlan, keyID: String) {
        self.exchange = exchange
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

    func exchangeBody(_ exchange: HTTPExchange, _ bytes: UnsafeRawBufferPointer) {
        scanner.scan(bytes)
        if let failure = scanner.failure {
            fail(400, code: "invalid_json", message: Self.describe(failure), closeConnection: true)
            return
        }
        body.append(contentsOf: bytes)
        if !dispatched {
            if scanner.model != nil && bodyBase + body.count > Self.replayLimit { dispatch() }
        } else {
            invocation?.bodyReadable()
            if body.count - (readCursor - bodyBase) > Self.bodyHighWater { exchange.pauseBody() }
        }
    }

    func exchangeBodyEnded(_ exchange: HTTPExchange) {
        bodyComplete = true
        scanner.finish()
        if let failure = scanner.failure {
            fail(400, code: "invalid_json", message: Self.describe(failure), closeConnection: false)
            return
        }
        if !dispatched { dispatch() } else { invocation?.bodyReadable() }
    }

    private static func describe(_ failure: JSONRequestScanner.Failure) -> String {
        switch failure {
        case .notAnObject: return "The request body must be a JSON object."
        case .malformed(let why): return "The request body is not valid JSON: \(why)."
        }
    }

    // MARK: - Routing (SPEC §3 order: model 404/403, then body 400)

    private func dispatch() {
        guard !dispatched, !exchange.isFinished else { return }
        dispatched = true
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
        prepareBody(for: backend, clientModel: model.name)
        collectingError = false
        errorBody = []
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

    /// Sets up the rewrite for this attempt: the model renamed for the backend, and
    /// `stream_options.include_usage` added to streamed chat so the last chunk carries usage.
    private func prepareBody(for backend: BackendPlan, clientModel: String) {
        readCursor = 0
        editIndex = 0
        insertOffset = 0
        edits = []
        if let upstream = backend.upstreamModel, upstream != clientModel, let range = scanner.modelRange {
            edits.append((range.lowerBound, range.count, Array(JSONText.quoted(upstream).utf8)))
        }
        if case .openai = backend.kind {
            injectUsage = operation == .chatCompletions && scanner.stream == true && !scanner.hasStreamOptions
        } else {
            injectUsage = false
        }
        injectedUsage = false
        addUsageEditIfKnown()
    }

    private static let usageOption = Array(#","stream_options":{"include_usage":true}"#.utf8)

    private func addUsageEditIfKnown() {
        guard injectUsage, !injectedUsage, let brace = scanner.closingBraceOffset else { return }
        injectedUsage = true
        edits.append((brace, 0, Self.usageOption))
        edits.sort { $0.at < $1.at }
    }

    private var editDelta: Int {
        var delta = edits.reduce(0) { $0 + $1.insert.count - $1.remove }
        if injectUsage && !injectedUsage { delta += Self.usageOption.count }
        return delta
    }

    // MARK: - RequestBodySource (the upstream pulls the body)

    func attemptReadBody(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        if exchange.isAborted { return .abort }
        addUsageEditIfKnown()
        var written = 0
        while written < buffer.count {
            if editIndex < edits.count && readCursor == edits[editIndex].at {
                let edit = edits[editIndex]
                let n = min(edit.insert.count - insertOffset, buffer.count - written)
                edit.insert.withUnsafeBytes { src in
                    (buffer.baseAddress! + written).copyMemory(from: src.baseAddress! + insertOffset, byteCount: n)
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
            let limit = editIndex < edits.count ? edits[editIndex].at : Int.max
            let available = min(bodyBase + body.count, limit) - readCursor
            guard available > 0 else { break }
            let n = min(available, buffer.count - written)
            body.withUnsafeBytes { src in
                (buffer.baseAddress! + written).copyMemory(from: src.baseAddress! + (readCursor - bodyBase), byteCount: n)
            }
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
        let sent = readCursor - bodyBase
        if bodyBase + body.count > Self.replayLimit && sent > 64 << 10 {
            body.removeFirst(sent)
            bodyBase += sent
            replayable = false
        }
        if exchange.isBodyPaused && body.count - (readCursor - bodyBase) < Self.bodyLowWater {
            exchange.resumeBody()
        }
    }

    func attemptBufferedBody() -> [UInt8]? {
        bodyComplete && bodyBase == 0 ? body : nil
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
        let contentType = headers.first { $0.0 == "content-type" }?.1
        isSSE = contentType?.hasPrefix("text/event-stream") ?? false
        var forwarded = HTTPHeaders()
        var length = contentLength
        for (name, value) in headers where name != "content-type" { forwarded.add(name, value) }
        forwarded.add("x-tollgate-backend", backendName ?? "")
        if isSSE {
            // The gateway adds its metering comment to streams, so their length changes.
            length = nil
            forwarded.add("cache-control", "no-cache")
        }
        exchange.startResponse(status: status, headers: forwarded, contentType: contentType ?? "application/json", length: length)
    }

    func attemptBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if collectingError {
            if errorBody.count < 64 << 10 { errorBody.append(contentsOf: bytes.prefix(64 << 10 - errorBody.count)) }
            return true
        }
        guard committed, !exchange.isFinished else { return false }
        if isSSE {
            let (before, rest) = splicer.feed(bytes)
            var ok = before.withUnsafeBytes { exchange.write($0) }
            if let rest {
                ok = exchange.write(meteringComment()) && ok
                ok = rest.withUnsafeBytes { exchange.write($0) } && ok
            }
            return ok
        }
        return exchange.write(bytes)
    }

    /// `: tollgate {"gpu_seconds":…,"cost_usd":…,"backend":…}` — an SSE comment, ignored by
    /// clients, carrying what this stream cost so far.
    private func meteringComment() -> String {
        let seconds = Double(context.loop.now &- upstreamStart) / 1e9
        let cost = backendIndex.map { plan.backends[$0].cost(seconds: seconds) } ?? 0
        return ": tollgate {\"gpu_seconds\":\(Self.decimal(seconds)),\"cost_usd\":\(Self.decimal(cost)),\"backend\":\(JSONText.quoted(backendName ?? ""))}\n\n"
    }

    static func decimal(_ value: Double) -> String {
        let micros = Int((value * 1e6).rounded())
        let whole = micros / 1_000_000, fraction = micros % 1_000_000
        let digits = String(fraction)
        return "\(whole).\(String(repeating: "0", count: 6 - digits.count))\(digits)"
    }

    func attemptEnded(_ attempt: ProxyAttempt, outcome: BackendOutcome, usage: TokenUsage, reportedGPUSeconds: Double?,
                      coldStart: Bool) {
        attempt.retire(loop: context.loop, cancelCall: false)
        upstreamSeconds += reportedGPUSeconds ?? Double(context.loop.now &- upstreamStart) / 1e9
        self.usage = usage
        self.coldStart = self.coldStart || coldStart
        if collectingError {
            attemptFailed(status: errorStatus)
            return
        }
        if !committed {
            switch outcome {
            case .completed:
                attemptFailed(status: 502, code: "bad_gateway", message: "the backend closed without a response")
            case .connectFailed(let m), .tlsFailed(let m):
                attemptFailed(status: 502, code: "backend_unreachable", message: m)
            case .timedOut(let m):
                attemptFailed(status: 504, code: "backend_timeout", message: m)
            case .broken(let m):
                attemptFailed(status: 502, code: "bad_gateway", message: m)
            case .tooLarge:
                attemptFailed(status: 502, code: "response_too_large", message: "the backend's response exceeds max_response")
            case .cancelled:
                break
            }
            return
        }
        // After the first byte a failure can only end the response (SPEC §3).
        if outcome == .completed {
            let tail = splicer.flush()
            if !tail.isEmpty { tail.withUnsafeBytes { _ = exchange.write($0) } }
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
        errorText = message
        if isSSE {
            let event = "event: error\ndata: \(JSONText.errorBody(message: message, type: "server_error", code: "upstream_failed"))\n\n"
            exchange.write(event)
            exchange.finish()
        } else {
            exchange.abort()
        }
    }

    /// A failure before anything reached the client: remember why, then the next candidate.
    private func attemptFailed(status: Int, code: String? = nil, message: String? = nil) {
        let name = backendName ?? "backend"
        let text = message ?? Self.upstreamMessage(errorBody) ?? "HTTP \(status)"
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
        collectingError = false
        errorBody = []
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

    private func fail(_ status: Int, code: String, message: String, closeConnection: Bool = false) {
        errorText = errorText ?? code
        current?.retire(loop: context.loop, cancelCall: true)
        guard !exchange.isResponseStarted else { return }
        exchange.respondError(status: status, message: message, code: code, close: closeConnection || !exchange.isBodyComplete)
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
        upstreamSeconds += Double(now &- upstreamStart) / 1e9
        attemptFailed(status: 504, code: "backend_timeout", message: "no response within first_byte_timeout")
    }

    func exchangeWritable(_ exchange: HTTPExchange) {
        invocation?.resumeReceiving()
    }

    func exchangeAborted(_ exchange: HTTPExchange) {
        // The client is gone: stop the upstream now so no GPU keeps working for nobody.
        if invocation != nil {
            upstreamSeconds += Double(context.loop.now &- upstreamStart) / 1e9
            errorText = "client_closed"
        }
        current?.retire(loop: context.loop, cancelCall: true)
    }
}
