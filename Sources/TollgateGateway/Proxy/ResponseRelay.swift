// SPDX-License-Identifier: Apache-2.0
// One attempt's response on its way to the client. The head passes SPEC §3's header rules
// (the adapter's allowlist, our `x-tollgate-backend`); an error status the client will not get
// is collected for its message instead. A stream is relayed in whole SSE events
// (SSEEventFramer): the usage event withheld from a client that did not ask for it, the
// closing `: tollgate {...}` comment right before `data: [DONE]` — the `[DONE]` event is held
// until the attempt has ended, so the comment carries the request's final figures, the ones
// its usage row gets — and a final `event: error` when it fails midway. A plain reply up to
// `heldReplyLimit` is held whole until the attempt ended, so its head carries the final
// `x-tollgate-gpu-seconds` and `x-tollgate-cost-usd` (SPEC §3) and a reply that breaks midway
// still becomes a clean error or the next candidate; the held bytes count against
// `server.max_buffered` (the exchange's reply lease), and when that has no room, or the reply
// is larger, it streams as it comes, head with its first byte, without the figures. A declared
// length is held to, and a passed-through error body is redacted of our secrets.
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
    /// The largest plain reply held whole for its figures (issue 9: "a body up to 8 MiB is
    /// complete before its head leaves"); larger ones stream without them.
    static let heldReplyLimit = 8 << 20
    /// The most of a stream's tail (its `[DONE]` event and anything after it) held for the
    /// final figures; an upstream that goes on past it is passed on without the comment.
    static let heldTailLimit = 64 << 10
    /// A held reply goes to the client in slices of this size, each only when the connection
    /// took the previous one (its memory stays within the lease, not the socket buffer).
    static let drainSlice = 64 << 10

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
    /// The backend the metering comment and `x-tollgate-backend` name.
    private var backend = ""
    /// A plain reply held whole until its attempt ended (its head is pending meanwhile).
    private(set) var isHolding = false
    /// The held reply's bytes; after the end, what `drain` still owes the client from
    /// `drainOffset` on.
    private var held: [UInt8] = []
    private var drainOffset = 0
    /// The held reply's head went out and its bytes are going to the client slice by slice.
    private(set) var isDraining = false
    /// A stream's `[DONE]` event and whatever followed it, held until the final figures are
    /// known; nil before the `[DONE]` event (and once the tail went out).
    private var doneTail: [UInt8]?

    /// Where a held reply's array comes from and goes back to (the loop's spares).
    private var spares: HeldReplyBuffers?

    /// Forgets the previous attempt's reply and starts on `backend`'s. A held reply's array
    /// comes from `spares` and goes back there once drained.
    mutating func reset(backend: String, spares: HeldReplyBuffers? = nil) {
        self = ResponseRelay()
        self.backend = backend
        self.spares = spares
    }

    /// A plain reply whose head is still to be sent.
    var hasPendingHead: Bool { pendingHead != nil }
    /// Bytes of a held reply in memory.
    var heldBytes: Int { held.count }
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
        // The upstream's kept fields, ours, and room for the figures a held reply adds
        // (`complete`) or a stream's cache-control: one allocation, not one per doubling.
        forwarded.reserveCapacity(headers.count + 3)
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
        // A reply declared larger than the limit streams from its first byte; one of unknown
        // length is held until it passes the limit.
        isHolding = (contentLength ?? 0) <= Self.heldReplyLimit
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

    /// Relays upstream body bytes. `room(total)`: whether the exchange may hold `total` bytes
    /// of a plain reply in memory (its lease of `server.max_buffered` grew to it, or had it).
    mutating func body(_ bytes: UnsafeRawBufferPointer, redactor: SecretRedactor, exchange: HTTPExchange,
                       room: (Int) -> Bool) -> Relayed {
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
            var ok = true
            // Read before the framer is changed: the closure cannot reach `self` meanwhile.
            // From the `[DONE]` event on, the bytes are held (`afterDone`) for the figures.
            var sawDone = doneTail != nil
            var afterDone: [UInt8] = []
            framer.feed(bytes) { piece in
                switch piece {
                case .bytes(let data):
                    if sawDone { afterDone.append(contentsOf: data) } else { ok = exchange.write(data) && ok }
                case .beforeDone:
                    sawDone = true
                }
            }
            if sawDone {
                // Appended in place (a `??` + `+` would build a new array per chunk).
                if doneTail == nil { doneTail = afterDone } else { doneTail?.append(contentsOf: afterDone) }
                if let tail = doneTail, tail.count > Self.heldTailLimit {
                    // Not an OpenAI stream's end (nothing follows `[DONE]` there): passed on
                    // as it is, without the comment rather than with figures that are not final.
                    doneTail = nil
                    ok = tail.withUnsafeBytes { exchange.write($0) } && ok
                }
            }
            return ok ? .more : .pause
        case .plain:
            guard !exchange.isFinished else { return .pause }
            var piece = bytes
            var overran = false
            if let declared = declaredLength, bytes.count > declared - relayedBytes {
                // More than the upstream declared (curl stops at the length, so this guards the
                // client's framing whatever the transport does): what fits, then the end.
                piece = UnsafeRawBufferPointer(rebasing: bytes[0..<max(declared - relayedBytes, 0)])
                overran = true
            }
            relayedBytes += piece.count
            var ok = true
            if redactsBody {
                let out = redactor.redact(piece, carry: &redactionCarry, final: false)
                ok = out.withUnsafeBytes { emit($0, exchange: exchange, room: room) }
            } else {
                ok = emit(piece, exchange: exchange, room: room)
            }
            if overran { return .overran }
            return ok ? .more : .pause
        }
    }

    /// Holds `bytes` of a plain reply, or sends them (with the head, the first time). A reply
    /// that outgrows the limit or the memory it may hold stops being held: its head goes out
    /// without the figures, then what was held, then the rest as it comes.
    private mutating func emit(_ bytes: UnsafeRawBufferPointer, exchange: HTTPExchange, room: (Int) -> Bool) -> Bool {
        if isHolding {
            let total = held.count + bytes.count
            if total <= Self.heldReplyLimit && room(total) {
                if held.capacity == 0, let spares { held = spares.take() }
                held.append(contentsOf: bytes)
                return true
            }
            isHolding = false
            sendPendingHead(exchange)
            let earlier = held
            held = []
            if !earlier.isEmpty { earlier.withUnsafeBytes { _ = exchange.write($0) } }
        }
        sendPendingHead(exchange)
        return bytes.isEmpty || exchange.write(bytes)
    }

    // MARK: - End

    enum Completion {
        /// All of it went out: the response may finish.
        case complete
        /// A held reply is going out slice by slice: `drain` again when the client is writable.
        case draining
        /// A plain reply ended short of its declared length: the connection must close.
        case lengthMismatch
    }

    /// The attempt completed and `figures` are final: the rest goes out (a stream's comment
    /// and held tail, a held reply's head with the figures and its body, a streamed plain
    /// reply's head if no byte came, the redactor's held tail).
    mutating func complete(figures: ResponseFigures, redactor: SecretRedactor, exchange: HTTPExchange) -> Completion {
        if phase == .stream {
            var rest: [UInt8] = []
            framer.finish { piece in
                if case .bytes(let data) = piece { rest.append(contentsOf: data) }
            }
            if let tail = doneTail {
                doneTail = nil
                exchange.write(Self.meteringComment(backend: backend, figures: figures))
                tail.withUnsafeBytes { _ = exchange.write($0) }
            }
            if !rest.isEmpty { rest.withUnsafeBytes { _ = exchange.write($0) } }
            return .complete
        }
        if redactsBody && !redactionCarry.isEmpty {
            let tail = redactor.redact(UnsafeRawBufferPointer(start: nil, count: 0), carry: &redactionCarry, final: true)
            if !tail.isEmpty { tail.withUnsafeBytes { _ = emit($0, exchange: exchange, room: { _ in true }) } }
        }
        if let declared = declaredLength, relayedBytes != declared { return .lengthMismatch }
        guard isHolding else {
            sendPendingHead(exchange)
            return .complete
        }
        isHolding = false
        if var head = pendingHead {
            // Taken out first, so the fields are added to the only copy (no copy-on-write).
            pendingHead = nil
            head.headers.add("x-tollgate-gpu-seconds", figures.gpu.secondsText)
            head.headers.add("x-tollgate-cost-usd", figures.cost.description)
            // The whole body is here: its length is known whatever the upstream's framing was.
            head.length = held.count
            pendingHead = head
        }
        sendPendingHead(exchange)
        isDraining = true
        return drain(exchange) ? .complete : .draining
    }

    /// Sends what is left of a held reply, a slice at a time while the connection takes it.
    /// True when all of it went out.
    mutating func drain(_ exchange: HTTPExchange) -> Bool {
        guard isDraining else { return true }
        while drainOffset < held.count {
            guard !exchange.isFinished else { return false }
            let end = min(drainOffset + Self.drainSlice, held.count)
            let accepted = held.withUnsafeBytes { exchange.write(UnsafeRawBufferPointer(rebasing: $0[drainOffset..<end])) }
            drainOffset = end
            if !accepted { return false }
        }
        if let spares { spares.give(&held) } else { held = [] }
        isDraining = false
        return true
    }

    /// Ends a stream early with SPEC §3's final `error` event. A partly received event is
    /// dropped, never half-sent, so the error event always parses; a held `[DONE]` (the
    /// upstream failed after it) goes out first, with the figures. The exchange finishes it.
    mutating func endStream(message: String, code: String, figures: ResponseFigures, exchange: HTTPExchange) {
        framer.discardPartialEvent()
        if let tail = doneTail {
            doneTail = nil
            exchange.write(Self.meteringComment(backend: backend, figures: figures))
            tail.withUnsafeBytes { _ = exchange.write($0) }
        }
        let separator = framer.isAtEventBoundary ? "" : "\n\n"
        exchange.write(separator + "event: error\ndata: \(JSONText.errorBody(message: message, type: "server_error", code: code))\n\n")
    }

    /// `: tollgate {"gpu_seconds":…,"cost_usd":…,"backend":…}` — an SSE comment, ignored by
    /// clients, carrying what the request cost: the figures of its usage row (SPEC §3).
    static func meteringComment(backend: String, figures: ResponseFigures) -> String {
        ": tollgate {\"gpu_seconds\":\(figures.gpu.secondsText),\"cost_usd\":\(figures.cost),\"backend\":\(JSONText.quoted(backend))}\n\n"
    }
}

/// What a request used and cost, as its response reports them (`x-tollgate-gpu-seconds`,
/// `x-tollgate-cost-usd`, the stream's comment) and its usage row records them.
struct ResponseFigures: Equatable {
    var gpu: MilliGPUSeconds
    var cost: MicroDollars
}
