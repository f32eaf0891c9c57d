// SPDX-License-Identifier: Apache-2.0
// The request body of one proxied request, from the client's bytes to each attempt's reads.
// It is scanned as it arrives (JSON: the `model`, `stream` and `stream_options` members,
// without decoding; multipart/form-data: the `model` and `stream` fields, the files going by
// unheld — MultipartFieldScanner), held in a segment chain within this request's share of `server.max_buffered`,
// and read by the current attempt with that attempt's edits applied on the way: the model
// renamed for its backend and, for streamed chat to an OpenAI-compatible server,
// `stream_options.include_usage` made true. Bodies up to the replay limit stay whole so a
// failed attempt can be replayed byte for byte on the next candidate; what an attempt took
// beyond it is dropped. Water marks tell the exchange when to pause and resume the client's
// upload.
//
// A value inside the exchange (no object of its own). It never calls the HTTP exchange or the
// upstream: both can call straight back into the exchange (a resumed upload delivers buffered
// bytes at once), which must not happen while this value is being changed, so it answers with
// what to do and the exchange does it.
import TollgateBackends
import TollgateHTTP
import TollgateIO
import TollgateUpstream
import TollgateCore

struct RequestBody: ~Copyable {
    /// Bodies up to this size are kept whole, so a failed attempt can be replayed on the next
    /// candidate; larger ones stream once (no failover after their first byte left).
    static let replayLimit = 8 << 20
    /// Received-but-unsent bytes above which the client's upload is paused…
    static let highWater = 1 << 20
    /// …and below which it resumes.
    static let lowWater = 256 << 10
    /// A chunked body's reservation grows by this much at a time (its length is unknown).
    static let budgetStep = 1 << 20
    /// One read of the HTTP layer (its scratch buffer): what may arrive before a pause acts.
    static let readSlack = 64 << 10
    /// How long a request that already holds body bytes waits for more budget before it is
    /// refused (503 `server_busy`), so holders waiting on each other cannot wait forever.
    static let budgetGrowthWaitNs: UInt64 = 10_000_000_000

    private let framing: HTTPBodyFraming
    private var scanner = JSONRequestScanner()
    /// A multipart/form-data body's scanner (nil: the body is JSON).
    private var multipart: MultipartFieldScanner?
    /// The model the route names (`/v1/run/<model>`): the body's own `model` means nothing
    /// to the gateway then.
    private let routeModel: String?
    /// A `/v1/run` body that is a JSON document other than an object (an array, a string, a
    /// number): passed as it is, not scanned (SPEC §3 "any JSON"; the backend judges it).
    private var isOpaqueRunBody = false
    /// Where `stream_options.include_usage` must be made true (chat and completions).
    private var streamOptions = StreamOptionsLocator()
    private let locatesStreamOptions: Bool
    private var buffer: RequestBodyBuffer
    /// Absolute offset of `buffer`'s first byte (bytes before it were sent and dropped).
    private var base = 0
    private(set) var isComplete = false
    /// A next attempt can still send the body from its first byte.
    private(set) var isReplayable = true
    /// This request's share of `server.max_buffered`.
    private var lease: BodyBudgetLease
    /// Reading is paused until the budget grants more.
    private(set) var pausedForBudget = false

    // The current attempt's view: the original bytes with its edits applied.
    private var readCursor = 0
    private var edits: [StreamOptionsLocator.Edit] = []
    private var editIndex = 0
    private var insertOffset = 0
    /// This attempt asks the upstream for usage.
    private var injectUsage = false
    /// How many of `streamOptions.edits` this attempt has taken into `edits`.
    private var usageEditsTaken = 0

    /// - Parameters:
    ///   - multipart: the scanner of a multipart/form-data body (nil: JSON).
    ///   - routeModel: the model named by the route rather than the body (`/v1/run/<model>`).
    init(framing: HTTPBodyFraming, operation: APIOperation, budget: RequestBodyBudget, loop: EventLoop,
         multipart: MultipartFieldScanner? = nil, routeModel: String? = nil) {
        self.framing = framing
        self.multipart = multipart
        self.routeModel = routeModel
        if case .length(let n) = framing { buffer = RequestBodyBuffer(expected: n) } else { buffer = RequestBodyBuffer(expected: nil) }
        lease = BodyBudgetLease(budget: budget, loop: loop)
        locatesStreamOptions = multipart == nil && (operation == .chatCompletions || operation == .completions)
    }

    var model: String? { routeModel ?? (multipart != nil ? multipart?.model : scanner.model) }
    var isMultipart: Bool { multipart != nil }
    /// `server.max_buffered`: the most any body may hold.
    var budgetCapacity: Int { lease.capacity }
    var stream: Bool? { multipart != nil ? multipart?.stream : scanner.stream }
    /// What the client said of `stream_options.include_usage` (nil: nothing).
    var clientAskedForUsage: Bool? { streamOptions.clientAskedForUsage }
    /// Bytes received so far.
    var received: Int { base + buffer.count }
    /// Bytes received and not yet taken by the current attempt.
    var unsentBytes: Int { received - readCursor }
    /// The upload is to pause: too much waits for the upstream.
    var isOverHighWater: Bool { unsentBytes > Self.highWater }
    /// A paused upload may go on (unless the budget paused it).
    var mayResume: Bool { !pausedForBudget && unsentBytes < Self.lowWater }
    /// The length the current attempt sends, once the body is complete.
    var attemptLength: Int? {
        if isComplete { return received + edits.reduce(0) { $0 + $1.insert.count - $1.remove } }
        // A body sent as it came (a multipart upload, a run body) keeps the client's declared
        // length, so the upstream gets a Content-Length rather than a chunked upload of
        // unknown size (some servers refuse those for files).
        if case .length(let n) = framing, edits.isEmpty, !injectUsage { return n }
        return nil
    }
    /// The whole body, for an adapter that takes it at once (while nothing was dropped).
    var whole: [UInt8]? { isComplete && base == 0 ? buffer.contiguous() : nil }

    // MARK: - The client's bytes

    /// Why a body is refused (400).
    enum Refusal: Error, Equatable {
        /// Not one JSON object the gateway can read one way only (SPEC §3).
        case json(JSONRequestScanner.Rejection)
        /// A multipart/form-data body that does not parse, or has a duplicate `model`.
        case multipart(String)
    }

    enum Appended {
        case appended
        case refused(Refusal)
        /// No memory could be mapped for it.
        case outOfMemory
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Appended {
        if multipart != nil {
            multipart?.scan(bytes)
            if let rejection = multipart?.rejection { return .refused(.multipart(rejection)) }
        } else if !isOpaqueRunBody {
            scanner.scan(bytes)
            if let rejection = scanner.rejection {
                guard routeModel != nil, case .notAnObject = rejection else { return .refused(.json(rejection)) }
                isOpaqueRunBody = true
            }
        }
        if locatesStreamOptions { streamOptions.follow(bytes, scannedBy: scanner) }
        guard buffer.append(bytes) else { return .outOfMemory }
        absorbUsageEdits()
        return .appended
    }

    /// The body is complete; a rejection found only at its end is returned.
    mutating func finish() -> Refusal? {
        isComplete = true
        if multipart != nil {
            multipart?.finish()
            return multipart?.rejection.map(Refusal.multipart)
        }
        // `/v1/run/<model>` may go without a body (a function without inputs).
        if routeModel != nil && (received == 0 || isOpaqueRunBody) { return nil }
        scanner.finish()
        if let rejection = scanner.rejection { return .json(rejection) }
        streamOptions.finish()
        absorbUsageEdits()
        return nil
    }

    // MARK: - Budget (SPEC §2 `server.max_buffered`)

    /// Reserves the body's share before its first byte is read: its declared length, or a
    /// first step of a chunked one. True: read now; false: `holder` hears of the grant.
    mutating func reserveFirst(for holder: any BodyBudgetWaiter) -> Bool {
        let wanted: Int
        switch framing {
        case .length(let n): wanted = n
        case .chunked: wanted = Self.budgetStep
        case .none: wanted = 0
        }
        return wanted == 0 || lease.grow(by: wanted, for: holder)
    }

    enum BudgetCheck {
        case enough
        /// The whole reservation is used before dispatch and the model is known: dispatch, so
        /// what is sent is released as it goes.
        case dispatchNow
        /// The whole reservation is used and the `model` is still unknown (413).
        case modelTooLate
        /// More was asked for and must be waited for: pause the upload.
        case waiting
    }

    /// Called with every body piece: makes sure the next read still fits the reservation.
    mutating func keepWithinBudget(dispatched: Bool, for holder: any BodyBudgetWaiter) -> BudgetCheck {
        guard !isComplete else { return .enough }
        let expected: Int
        if case .length(let n) = framing { expected = n - received } else { expected = Self.readSlack }
        guard buffer.count + min(expected, Self.readSlack) > lease.reserved else { return .enough }
        if !dispatched && lease.reserved >= lease.capacity {
            return model == nil ? .modelTooLate : .dispatchNow
        }
        if lease.grow(by: Self.budgetStep, for: holder, limitNs: Self.budgetGrowthWaitNs) { return .enough }
        pausedForBudget = true
        return .waiting
    }

    /// The budget granted a wait; false when it was not this body's (it gave up meanwhile).
    mutating func budgetGranted(ticket: UInt64, bytes: Int) -> Bool {
        lease.granted(ticket: ticket, bytes: bytes)
    }

    /// Ends a pause for the budget after a grant: true when the upload may resume now.
    mutating func endBudgetPause() -> Bool {
        guard pausedForBudget else { return false }
        pausedForBudget = false
        return unsentBytes <= Self.highWater
    }

    /// A wait reached its limit: withdrawn; false when it had ended already.
    mutating func budgetWaitExpired(ticket: UInt64) -> Bool {
        lease.giveUp(ticket: ticket)
    }

    mutating func releaseBudget() {
        lease.releaseAll()
    }

    /// Once dispatched, a request holds at most its replay window plus the unsent high-water
    /// mark (and one read); a body that can no longer be replayed, only what is unsent; a
    /// complete body, just itself. The rest goes back — by whole steps only, so a streaming
    /// upload does not give back and take again a little on every chunk.
    mutating func shrinkReservation() {
        let target: Int
        if isComplete {
            target = buffer.count
        } else if !isReplayable {
            target = buffer.count + Self.highWater + 2 * Self.readSlack
        } else {
            target = max(buffer.count, Self.replayLimit) + Self.highWater + 2 * Self.readSlack
        }
        if isComplete || lease.reserved - target >= Self.budgetStep { lease.shrink(to: target) }
    }

    // MARK: - An attempt's reads

    /// Starts the body over for a new attempt: the model renamed for its backend, and
    /// `stream_options.include_usage` made true when `injectUsage`, so the last chunk carries
    /// usage even when the client declined it (the client then does not get that chunk).
    mutating func prepare(upstreamModel: String?, clientModel: String, injectUsage: Bool) {
        // A new attempt exists only while the body is replayable, so nothing was dropped.
        readCursor = base
        editIndex = 0
        insertOffset = 0
        edits.removeAll(keepingCapacity: true)
        if let upstreamModel, upstreamModel != clientModel, let range = scanner.modelRange {
            edits.append(.init(at: range.lowerBound, remove: range.count, insert: Array(JSONText.quoted(upstreamModel).utf8)))
        }
        self.injectUsage = injectUsage
        usageEditsTaken = 0
        absorbUsageEdits()
    }

    /// Takes the usage edits found since the last call into this attempt's edits, in order.
    /// They lie ahead of what was sent (the locator sees bytes before the upstream can).
    private mutating func absorbUsageEdits() {
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

    /// Copies the current attempt's next bytes, edits applied, into `destination`.
    mutating func read(into destination: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        guard let out = destination.baseAddress else { return .wouldBlock }
        var written = 0
        while written < destination.count {
            if editIndex < edits.count && readCursor == edits[editIndex].at {
                let edit = edits[editIndex]
                let n = min(edit.insert.count - insertOffset, destination.count - written)
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
            let available = min(received, limit) - readCursor
            guard available > 0 else { break }
            let n = min(available, destination.count - written)
            buffer.copy(from: readCursor - base, count: n, to: out + written)
            written += n
            readCursor += n
        }
        if written > 0 {
            // Past the replay window (or once it is closed) what was sent goes, so a huge
            // upload stays bounded.
            if (received > Self.replayLimit || !isReplayable) && readCursor - base > Self.readSlack { dropSent() }
            return .bytes(written)
        }
        if isComplete && readCursor >= received && editIndex >= edits.count { return .end }
        return .wouldBlock
    }

    /// The client got a response head: no attempt will replay the body any more, so what the
    /// current one sent, and its share of the budget, go back.
    mutating func endReplay() {
        isReplayable = false
        dropSent()
        shrinkReservation()
    }

    /// Drops what the current attempt has sent: no later attempt can replay it.
    private mutating func dropSent() {
        let sent = readCursor - base
        guard sent > 0 else { return }
        buffer.removeFirst(sent)
        base += sent
        isReplayable = false
        shrinkReservation()
    }
}
