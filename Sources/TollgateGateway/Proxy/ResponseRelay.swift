// SPDX-License-Identifier: Apache-2.0
// One attempt's response on its way to the client. The head passes SPEC §3's header rules
// (the adapter's allowlist, our `x-tollgate-backend`); an error status the client will not get
// is collected for its message instead. A stream is relayed in whole SSE events
// (SSEEventFramer): the usage event withheld from a client that did not ask for it, the
// closing `: tollgate {...}` comment right before `data: [DONE]`, and a final `event: error`
// when it fails midway. A plain reply's head waits for its first body byte (a reply that breaks
// before it still becomes a clean error), its declared length is held to, and a passed-through
// error body is redacted of our secrets.
//
// A value inside the exchange. It writes to the client itself but never ends the exchange:
// ending runs the meter and may release the exchange, which must not happen while this value
// is being changed, so it says what is to happen and the exchange does it.
import TollgateHTTP
import TollgateCore

struct ResponseRelay {
    enum Phase: Equatable {
        case awaitingHead
        /// An error status the gateway decides on: its body is its message.
        case collectingError
        /// An SSE stream; its head went to the client at once.
        case stream
        /// A plain reply; its head goes with its first body byte.
        case plain
    }

    /// The most of an error body kept for its message.
    static let errorBodyLimit = 64 << 10

    private(set) var phase = Phase.awaitingHead
    private(set) var errorStatus = 0
    private(set) var errorBody: [UInt8] = []
    private var framer = SSEEventFramer()
    /// A plain reply's head, sent with its first body byte (or at its end).
    private var pendingHead: (status: Int, headers: HTTPHeaders, contentType: String, length: Int?)?
    /// The length the client was promised, and the bytes sent towards it.
    private var declaredLength: Int?
    private var relayedBytes = 0
    /// A passed-through 4xx goes through the secret redactor (it may echo our Authorization).
    private var redactsBody = false
    private var redactionCarry: [UInt8] = []
    /// What the metering comment says: the attempt's backend, its price and its start.
    private var backend = ""
    private var costModel = CostModel.free
    private var startedAt: UInt64 = 0

    /// Forgets the previous attempt's reply and starts on `backend`'s.
    mutating func reset(backend: String, costModel: CostModel, startedAt: UInt64) {
        self = ResponseRelay()
        self.backend = backend
        self.costModel = costModel
        self.startedAt = startedAt
    }

    /// A plain reply whose head is still to be sent.
    var hasPendingHead: Bool { pendingHead != nil }
    /// Fewer bytes came than the reply declared.
    var isShortOfDeclaredLength: Bool { declaredLength.map { $0 > relayedBytes } ?? false }

    // MARK: - Head

    /// The response head. `passThrough` (FailoverTable): the client gets this reply; else its
    /// body is collected and the exchange decides when it ends. A stream's head is sent now.
    /// The headers are the adapter's allowlist with clean values.
    mutating func head(status: Int, headers: [(String, String)], contentLength: Int?, passThrough: Bool,
                       clientAskedForUsage: Bool?, redactor: SecretRedactor, exchange: HTTPExchange) {
        guard passThrough else {
            phase = .collectingError
            errorStatus = status
            return
        }
        let contentType = headers.first { $0.0 == "content-type" }?.1
        let isSSE = contentType?.hasPrefix("text/event-stream") ?? false
        var forwarded = HTTPHeaders()
        for (name, value) in headers where name != "content-type" && !(isSSE && name == "cache-control") {
            forwarded.add(name, value)
        }
        forwarded.add("x-tollgate-backend", backend)
        if isSSE {
            phase = .stream
            // The gateway adds its metering comment to streams, so their length changes.
            forwarded.add("cache-control", "no-cache")
            // As OpenAI does: the usage chunk (`choices: []`) only for a client that asked for
            // it; code reading `chunk.choices[0]` of every chunk would break on it otherwise.
            // The gateway asked the upstream anyway, so the meter still sees it.
            framer.withholdUsage = clientAskedForUsage != true
            exchange.startResponse(status: status, headers: forwarded, contentType: contentType, length: nil)
            return
        }
        phase = .plain
        // A passed-through 4xx may echo our credentials: redacted, so its length may change.
        redactsBody = status >= 400 && !redactor.isEmpty
        declaredLength = redactsBody ? nil : contentLength
        pendingHead = (status, forwarded, contentType ?? "application/json", declaredLength)
    }

    private mutating func sendPendingHead(_ exchange: HTTPExchange) {
        guard let head = pendingHead else { return }
        pendingHead = nil
        exchange.startResponse(status: head.status, headers: head.headers, contentType: head.contentType, length: head.length)
    }

    // MARK: - Body

    enum Relayed {
        /// Go on.
        case more
        /// The client is slow (or gone): pause until it drains.
        case pause
        /// More came than the reply declared: what fit was sent; the connection must close.
        case overran
    }

    mutating func body(_ bytes: UnsafeRawBufferPointer, redactor: SecretRedactor, now: UInt64, exchange: HTTPExchange) -> Relayed {
        switch phase {
        case .awaitingHead:
            return .pause
        case .collectingError:
            if errorBody.count < Self.errorBodyLimit {
                errorBody.append(contentsOf: bytes.prefix(Self.errorBodyLimit - errorBody.count))
            }
            return .more
        case .stream:
            guard !exchange.isFinished else { return .pause }
            // Read before the framer is changed: the closure cannot reach `self` meanwhile.
            let backend = backend, costModel = costModel, startedAt = startedAt
            var ok = true
            framer.feed(bytes) { piece in
                switch piece {
                case .bytes(let data): ok = exchange.write(data) && ok
                case .beforeDone:
                    let comment = Self.meteringComment(backend: backend, costModel: costModel, startedAt: startedAt, now: now)
                    ok = exchange.write(comment) && ok
                }
            }
            return ok ? .more : .pause
        case .plain:
            guard !exchange.isFinished else { return .pause }
            sendPendingHead(exchange)
            if redactsBody {
                let out = redactor.redact(bytes, carry: &redactionCarry, final: false)
                return out.isEmpty || out.withUnsafeBytes({ exchange.write($0) }) ? .more : .pause
            }
            if let declared = declaredLength, bytes.count > declared - relayedBytes {
                // More than the upstream declared (curl stops at the length, so this guards the
                // client's framing whatever the transport does): send what fits, then close.
                let room = declared - relayedBytes
                if room > 0 { exchange.write(UnsafeRawBufferPointer(rebasing: bytes[0..<room])) }
                relayedBytes = declared
                return .overran
            }
            relayedBytes += bytes.count
            return exchange.write(bytes) ? .more : .pause
        }
    }

    // MARK: - End

    enum Completion {
        /// All of it went out: the response may finish.
        case complete
        /// A plain reply ended short of its declared length: the connection must close.
        case lengthMismatch
    }

    /// The attempt completed: the rest goes out (a stream's held tail, a plain reply's head
    /// if no byte came, the redactor's held tail).
    mutating func complete(redactor: SecretRedactor, exchange: HTTPExchange) -> Completion {
        if phase == .stream {
            framer.finish { piece in
                if case .bytes(let data) = piece { exchange.write(data) }
            }
            return .complete
        }
        sendPendingHead(exchange)
        if redactsBody && !redactionCarry.isEmpty {
            let tail = redactor.redact(UnsafeRawBufferPointer(start: nil, count: 0), carry: &redactionCarry, final: true)
            if !tail.isEmpty { tail.withUnsafeBytes { _ = exchange.write($0) } }
        }
        if let declared = declaredLength, relayedBytes != declared { return .lengthMismatch }
        return .complete
    }

    /// Ends a stream early with SPEC §3's final `error` event. A partly received event is
    /// dropped, never half-sent, so the error event always parses. The exchange finishes it.
    mutating func endStream(message: String, code: String, exchange: HTTPExchange) {
        framer.discardPartialEvent()
        let separator = framer.isAtEventBoundary ? "" : "\n\n"
        exchange.write(separator + "event: error\ndata: \(JSONText.errorBody(message: message, type: "server_error", code: code))\n\n")
    }

    /// `: tollgate {"gpu_seconds":…,"cost_usd":…,"backend":…}` — an SSE comment, ignored by
    /// clients, carrying what this stream cost so far on its backend's price (SPEC §3).
    static func meteringComment(backend: String, costModel: CostModel, startedAt: UInt64, now: UInt64) -> String {
        let gpu = MilliGPUSeconds(nanoseconds: now &- startedAt)
        let cost = costModel.cost(of: gpu)
        return ": tollgate {\"gpu_seconds\":\(gpu.secondsText),\"cost_usd\":\(cost),\"backend\":\(JSONText.quoted(backend))}\n\n"
    }
}
