// SPDX-License-Identifier: Apache-2.0
// One client connection on one loop: reads into the loop's scratch buffer, parses, hands each
// request to the responder as an HTTPExchange, queues responses in order, applies
// backpressure both ways and enforces the timeouts. Loop-confined; never touched elsewhere.
import CLinux
import Glibc
import TollgateIO
import TollgateCore

final class HTTPConnection: IOHandler, TimerHandler {
    enum Phase: Equatable {
        /// Waiting for the first byte of a request (new connection or keep-alive).
        case awaitingHead
        /// Some bytes of a head arrived.
        case readingHead
        /// A request is being served.
        case exchange
        /// A final response is being flushed; then the write side is shut down.
        case closingAfterFlush
        /// Write side shut; reading and discarding until EOF or the linger deadline.
        case lingering
        case closed
    }

    private enum ResponseFraming {
        case none, length, chunked, closeDelimited
    }

    let fd: Int32
    /// The client's address as accept(2) saw it (a proxy's, when there is one in front).
    let peer: IPAddress
    private unowned let context: HTTPServerLoopContext
    private let loop: EventLoop
    private let options: HTTPServerOptions
    private var input = ByteBuffer()
    private var output = ByteBuffer()
    private var parser: HTTPRequestParser
    private(set) var phase: Phase = .awaitingHead
    private var exchange: HTTPExchange?
    var keepAlive = true
    /// HTTPExchange.connectionContext: the responder's per-connection state.
    var responderContext: AnyObject?
    private var timer = TimerSlot()
    /// The latest heap entry scheduled for `timer`, cancelled on close so a closed
    /// connection is released at once rather than when its deadline passes.
    private var timerToken: TimerToken?
    private var isFirstRequest = true
    private var phaseStart: UInt64
    private var lastBodyProgress: UInt64 = 0
    private var lastWriteProgress: UInt64 = 0
    private var requestsServed = 0
    private var lingerBytes = 0
    private var responseFraming = ResponseFraming.none
    /// Declared body bytes not yet written (`.length` framing).
    private var responseBodyRemaining = 0
    /// Set while this connection is inside its own I/O callback: writes are then flushed once
    /// at the end instead of one syscall each, and re-entrant parsing is avoided.
    private var inCallback = false
    private var peerClosed = false
    /// True while `process` parses the bytes of `input` itself (see `processBufferedInput`).
    private var isParsingInput = false
    /// Queued in the loop context's flush list (see `requestFlush`).
    var flushScheduled = false

    init(fd: Int32, peer: IPAddress, context: HTTPServerLoopContext) {
        self.fd = fd
        self.peer = peer
        self.context = context
        self.loop = context.loop
        self.options = context.options
        self.parser = HTTPRequestParser(limits: context.options.limits)
        self.phaseStart = context.loop.now
    }

    func start() {
        updateDeadline()
    }

    var isIdle: Bool { phase == .awaitingHead && input.isEmpty && output.isEmpty }
    /// Response bytes queued and not yet accepted by the kernel (tests prove bounds with it).
    var queuedOutputBytes: Int { output.readableCount }

    // MARK: - I/O events

    func handleIO(_ events: IOEvents) {
        inCallback = true
        if events.contains(.write) { flushOutput() }
        if phase != .closed && (events.contains(.read) || events.contains(.readEOF) || events.contains(.error)) {
            if phase == .lingering {
                discardInput()
            } else if loop.interest(of: fd).contains(.read) {
                readAndProcess()
            } else if events.contains(.readEOF) || events.contains(.error) {
                // Not reading (body paused or a response in progress), yet the peer hung up.
                peerWentAway()
            }
        }
        inCallback = false
        if phase != .closed {
            flushOutput()
        }
    }

    private func readAndProcess() {
        if input.isEmpty {
            let scratch = loop.scratch
            let result: IOResult<Int>
            do { result = try Socket.read(fd, into: scratch.baseAddress!, count: scratch.count) } catch {
                peerWentAway()
                return
            }
            guard case .processed(let n) = result else { return }
            guard n > 0 else { peerWentAway(); return }
            let bytes = UnsafeRawBufferPointer(rebasing: scratch[0..<n])
            let consumed = process(bytes)
            if consumed < n && acceptsInput { input.append(UnsafeRawBufferPointer(rebasing: bytes[consumed...])) }
        } else {
            var readCount = 0
            do {
                _ = try input.writeWithUnsafeMutableBytes(minimumWritable: 16 * 1024) { (region) throws(IOError) in
                    switch try Socket.read(fd, into: region.baseAddress!, count: region.count) {
                    case .processed(let n): readCount = n; return n
                    case .wouldBlock: readCount = -1; return 0
                    }
                }
            } catch {
                peerWentAway()
                return
            }
            if readCount < 0 { return }
            guard readCount > 0 else { peerWentAway(); return }
            processBufferedInput()
        }
        updateInterest()
    }

    /// Parses what is in `input` (after a resume or the end of a response).
    ///
    /// Ownership rule: while `process` parses `input`'s own bytes, nothing mutates `input` (a
    /// responder may close the connection from inside a callback: `beginClose` and `close`
    /// leave the buffer alone); `settleInput` is the one place that consumes or drops what
    /// was parsed, once parsing has returned.
    private func processBufferedInput() {
        // Runs even with no buffered bytes: the parser may hold a pending end of message
        // (a body that was paused right after its last byte).
        guard phase != .closed, !isParsingInput else { return }
        isParsingInput = true
        let consumed = process(input.readable)
        isParsingInput = false
        settleInput(consumed: consumed)
    }

    /// After parsing `input`: drops the parsed bytes, or everything once no further request
    /// will be read from this connection.
    private func settleInput(consumed: Int) {
        if acceptsInput {
            input.consume(min(consumed, input.readableCount))
        } else {
            input.clear()
        }
    }

    /// Whether bytes received now may still be parsed as (part of) a request.
    private var acceptsInput: Bool {
        switch phase {
        case .awaitingHead, .readingHead, .exchange: return true
        case .closingAfterFlush, .lingering, .closed: return false
        }
    }

    /// Parses as many events from `bytes` as the connection's state allows; returns how many
    /// bytes were consumed.
    private func process(_ bytes: UnsafeRawBufferPointer) -> Int {
        let wasInCallback = inCallback
        inCallback = true
        defer { inCallback = wasInCallback }
        var offset = 0
        while offset <= bytes.count {
            switch phase {
            case .closed, .closingAfterFlush, .lingering:
                return offset
            case .exchange:
                guard let exchange, exchange.bodyRequested, !exchange.bodyPaused, !exchange.isBodyComplete else { return offset }
            case .awaitingHead, .readingHead:
                // A client pipelining faster than it reads: stop parsing until responses drain.
                if output.readableCount > options.highWaterMark { return offset }
            }
            let event: HTTPParseEvent
            let consumed: Int
            do {
                (event, consumed) = try parser.next(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            } catch {
                requestFailed(error)
                return bytes.count
            }
            offset += consumed
            switch event {
            case .needMore:
                if phase == .awaitingHead && (offset < bytes.count || !parser.isIdle) {
                    phase = .readingHead
                    if !isFirstRequest { phaseStart = loop.now }
                    updateDeadline()
                }
                return offset
            case .head(let head):
                startExchange(head)
            case .body(let range):
                guard let exchange else { continue }
                exchange.bodyBytesIn += range.count
                lastBodyProgress = loop.now
                exchange.delegate?.exchangeBody(exchange, UnsafeRawBufferPointer(rebasing: bytes[(range.lowerBound + offset - consumed)..<(range.upperBound + offset - consumed)]))
            case .end:
                guard let exchange else { continue }
                exchange.isBodyComplete = true
                if exchange.bodyRequested { exchange.delegate?.exchangeBodyEnded(exchange) }
                if exchange.isResponseComplete && self.exchange === exchange { exchangeDone(exchange) }
                updateDeadline()
            }
        }
        return offset
    }

    // MARK: - Exchanges

    private func startExchange(_ head: HTTPRequestHead) {
        phase = .exchange
        requestsServed += 1
        isFirstRequest = false
        if !head.keepAlive || requestsServed >= options.maxRequestsPerConnection || context.isDraining {
            keepAlive = false
        }
        let exchange = HTTPExchange(head: head, id: context.nextRequestID(), loop: loop, connection: self,
                                    peer: peer, wallTime: context.wallClockNanos)
        self.exchange = exchange
        lastBodyProgress = loop.now
        context.responder.respond(to: exchange)
        updateDeadline()
    }

    func bodyRequested(_ exchange: HTTPExchange) {
        guard exchange === self.exchange, phase == .exchange else { return }
        if exchange.head.expectContinue && !exchange.isResponseStarted && !exchange.isBodyComplete
            && exchange.bodyBytesIn == 0 {
            // RFC 9110 §10.1.1: the client waits for this before sending the body.
            output.append("HTTP/1.1 100 Continue\r\n\r\n")
        }
        lastBodyProgress = loop.now
        if exchange.isBodyComplete {
            // No body at all (Content-Length: 0, or no framing): the parser's end of message is
            // not delivered while the exchange lives (nothing is left to read), so the
            // responder hears of the end here, or it would wait for it forever.
            exchange.delegate?.exchangeBodyEnded(exchange)
            return
        }
        bodyFlowChanged(exchange)
    }

    func bodyFlowChanged(_ exchange: HTTPExchange) {
        guard exchange === self.exchange, phase == .exchange else { return }
        if !inCallback {
            resumeProcessing()
        } else {
            updateInterest()
            updateDeadline()
        }
    }

    /// Tells the responder, then drops the exchange's references to the responder's objects
    /// (they usually point back at the exchange: without this every request would leak).
    private func endExchange(_ exchange: HTTPExchange) {
        context.responder.exchangeEnded(exchange)
        exchange.delegate = nil
        exchange.context = nil
    }

    private func exchangeDone(_ exchange: HTTPExchange) {
        exchange.endTime = loop.now
        self.exchange = nil
        endExchange(exchange)
        guard phase != .closed else { return }
        if !keepAlive || peerClosed {
            beginClose()
            return
        }
        phase = .awaitingHead
        phaseStart = loop.now
        updateDeadline()
        if !inCallback { resumeProcessing() }
    }

    /// Parses what is buffered (a resumed body, a pipelined request) when called from outside
    /// this connection's own I/O callback, then writes what that produced.
    private func resumeProcessing() {
        inCallback = true
        processBufferedInput()
        inCallback = false
        if phase != .closed { flushOutput() }
    }

    // MARK: - Response writing

    func writeHead(_ exchange: HTTPExchange, status: Int, headers: HTTPHeaders, contentType: String?, length: Int?) {
        guard exchange === self.exchange, phase == .exchange else { return }
        exchange.isResponseStarted = true
        exchange.firstByteTime = loop.now
        let head = exchange.head
        let bodyless = exchange.isHEAD || status == 204 || status == 304
        if !exchange.isBodyComplete && !exchange.bodyRequested {
            // The body will never be read: its bytes must not be taken for the next request.
            keepAlive = false
        }
        if length == nil && head.minorVersion == 0 && !bodyless { keepAlive = false }
        let before = output.readableCount
        output.append("HTTP/1.1 ")
        output.append(decimal: status)
        output.append(byte: 0x20)
        output.append(HTTPStatus.reason(status))
        output.append("\r\ndate: ")
        output.append(context.date.bytes)
        if let contentType {
            output.append("\r\ncontent-type: ")
            output.append(string: contentType)
        }
        if status != 204 && status != 304 {
            if let length {
                output.append("\r\ncontent-length: ")
                output.append(decimal: length)
            } else if head.minorVersion >= 1 {
                output.append("\r\ntransfer-encoding: chunked")
            }
        }
        output.append("\r\nx-request-id: ")
        let echoed = head.withRequestIDBytes { client -> Bool in
            guard let client, Self.isEchoableRequestID(client) else { return false }
            output.append(client)
            return true
        }
        if !echoed { appendRequestID(exchange.id) }
        for (name, value) in headers.entries {
            output.append("\r\n")
            output.append(string: name)
            output.append(": ")
            output.append(string: value)
        }
        if !keepAlive {
            output.append("\r\nconnection: close")
        } else if head.minorVersion == 0 {
            output.append("\r\nconnection: keep-alive")
        }
        output.append("\r\n\r\n")
        exchange.bytesOut += output.readableCount - before
        if bodyless {
            responseFraming = .none
        } else if let length {
            responseFraming = .length
            responseBodyRemaining = length
        } else {
            responseFraming = head.minorVersion >= 1 ? .chunked : .closeDelimited
        }
        lastWriteProgress = loop.now
    }

    /// A client's `x-request-id` is echoed only if it is short and plainly printable.
    static func isEchoableRequestID(_ value: UnsafeRawBufferPointer) -> Bool {
        guard !value.isEmpty, value.count <= 128 else { return false }
        for b in value where !(b >= 0x21 && b <= 0x7E) { return false }
        return true
    }

    private func appendRequestID(_ id: RequestID) {
        output.append(hex: id.prefix, width: 16)
        output.append(hex: UInt64(id.counter), width: 8)
    }

    @discardableResult
    func writeBody(_ exchange: HTTPExchange, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard exchange === self.exchange, phase == .exchange else { return false }
        let before = output.readableCount
        switch responseFraming {
        case .none:
            return true
        case .length:
            output.append(bytes)
            responseBodyRemaining -= bytes.count
        case .closeDelimited:
            output.append(bytes)
        case .chunked:
            guard !bytes.isEmpty else { return true }
            output.append(hex: UInt64(bytes.count))
            output.append("\r\n")
            output.append(bytes)
            output.append("\r\n")
        }
        exchange.bytesOut += output.readableCount - before
        if responseFraming == .length && responseBodyRemaining <= 0 && !inCallback {
            // The last byte of a declared-length body: send now, not at the end of the
            // iteration, so the client does not wait for the upstream's bookkeeping (curl
            // completing the transfer, the usage record) before it gets its answer.
            flushOutput()
            guard phase != .closed else { return false }
        } else if !inCallback {
            requestFlush()
        }
        if output.readableCount > options.highWaterMark {
            exchange.writeBlocked = true
            updateInterest()
            updateDeadline()
            return false
        }
        return true
    }

    func finishResponse(_ exchange: HTTPExchange) {
        guard exchange === self.exchange, phase == .exchange else { return }
        if responseFraming == .chunked {
            output.append("0\r\n\r\n")
            exchange.bytesOut += 5
        }
        if responseFraming == .closeDelimited { keepAlive = false }
        exchange.isResponseComplete = true
        if !exchange.isBodyComplete {
            // Answered before the body was all here: stop reading it and close afterwards.
            keepAlive = false
        }
        if exchange.isBodyComplete || !keepAlive {
            exchangeDone(exchange)
        }
        if !inCallback && phase != .closed { requestFlush() }
    }

    /// Writes made outside this connection's own I/O callback (an upstream's data arriving)
    /// are sent once at the end of the loop iteration: head, body and last chunk of a short
    /// response leave in one send(2).
    private func requestFlush() {
        guard !flushScheduled, phase != .closed else { return }
        flushScheduled = true
        context.scheduleFlush(self)
    }

    /// Called by the loop context at the end of the iteration.
    func deferredFlush() {
        flushScheduled = false
        flushOutput()
    }

    // MARK: - Flushing and interest

    private func flushOutput() {
        guard phase != .closed else { return }
        while !output.isEmpty {
            let pending = output.readable
            let result: IOResult<Int>
            do { result = try Socket.write(fd, from: pending.baseAddress!, count: pending.count) } catch {
                close()
                return
            }
            guard case .processed(let n) = result else { break }
            output.consume(n)
            lastWriteProgress = loop.now
        }
        if output.isEmpty {
            // Keep a small buffer for the next response; give large ones back.
            output.clear(keepingUpTo: 16 * 1024)
            if phase == .closingAfterFlush {
                startLingering()
                return
            }
        }
        if let exchange, exchange.writeBlocked, output.readableCount <= options.lowWaterMark {
            exchange.writeBlocked = false
            exchange.delegate?.exchangeWritable(exchange)
            if phase == .closed { return }
        }
        if phase == .awaitingHead && !input.isEmpty && output.readableCount <= options.highWaterMark && !inCallback {
            resumeProcessing()  // a pipelined request waited behind this response
            return
        }
        updateInterest()
        updateDeadline()
    }

    private func updateInterest() {
        guard phase != .closed else { return }
        var interest: IOEvents = []
        if !output.isEmpty { interest.insert(.write) }
        switch phase {
        case .awaitingHead, .readingHead:
            interest.insert(output.readableCount > options.highWaterMark || !input.isEmpty && input.readableCount > options.limits.maxHeader ? .readEOF : .read)
        case .exchange:
            if let exchange, exchange.bodyRequested, !exchange.bodyPaused, !exchange.isBodyComplete {
                interest.insert(.read)
            } else if let exchange, !exchange.isBodyComplete {
                interest.insert(.readEOF)  // body on hold: leave it in the kernel's buffer
            } else {
                // Keep reading (a pipelined request is buffered, bounded) so the interest does not
                // flip on every request; a client that pipelines too far is no longer read.
                interest.insert(input.readableCount > options.limits.maxHeader ? .readEOF : .read)
            }
        case .closingAfterFlush:
            interest.insert(.readEOF)
        case .lingering:
            interest.insert(.read)
        case .closed:
            return
        }
        do { try loop.setInterest(fd, interest) } catch { close() }
    }

    // MARK: - Timeouts

    private func updateDeadline() {
        let deadline: UInt64
        switch phase {
        case .awaitingHead:
            deadline = phaseStart + (isFirstRequest ? options.headerTimeout : options.idleTimeout)
        case .readingHead:
            deadline = phaseStart + options.headerTimeout
        case .exchange:
            var d = UInt64.max
            if let exchange, exchange.bodyRequested, !exchange.bodyPaused, !exchange.isBodyComplete {
                d = lastBodyProgress + options.bodyTimeout
            }
            if !output.isEmpty { d = min(d, lastWriteProgress + options.sendTimeout) }
            deadline = d
        case .closingAfterFlush:
            deadline = lastWriteProgress + options.sendTimeout
        case .lingering:
            deadline = phaseStart + options.lingerTimeout
        case .closed:
            deadline = .max
        }
        if let schedule = timer.set(deadline) { timerToken = loop.schedule(self, at: schedule) }
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        guard phase != .closed else { return }
        switch timer.fired(entryDeadline: deadline, now: now) {
        case .expired: timedOut()
        case .reschedule(let next): timerToken = loop.schedule(self, at: next)
        case .ignore: break
        }
    }

    private func timedOut() {
        switch phase {
        case .awaitingHead where !isFirstRequest:
            close()  // keep-alive idle: a silent close, as nginx does
        case .awaitingHead, .readingHead:
            requestFailed(.timeout("no complete request head within the header timeout"))
        case .exchange:
            if let exchange, exchange.bodyRequested, !exchange.isBodyComplete, !exchange.bodyPaused,
               loop.now >= lastBodyProgress + options.bodyTimeout {
                requestFailed(.timeout("no request body bytes within the body timeout"))
            } else {
                close()  // the client stopped reading our response
            }
        case .closingAfterFlush, .lingering, .closed:
            close()
        }
        if phase != .closed { flushOutput() }
    }

    // MARK: - Errors and closing

    /// Answers a framing, size or timeout error, then closes gracefully. An exchange in
    /// progress is aborted first (its responder sees `exchangeAborted`).
    private func requestFailed(_ error: HTTPParseError) {
        keepAlive = false
        var answerID: RequestID?
        if let exchange, !exchange.isFinished {
            exchange.status = error.status
            answerID = exchange.id
            exchange.isAborted = true
            exchange.endTime = loop.now
            self.exchange = nil
            exchange.delegate?.exchangeAborted(exchange)
            endExchange(exchange)
            if exchange.isResponseStarted {
                close()
                return
            }
        } else {
            let id = context.nextRequestID()
            context.rejected(status: error.status, message: error.message, id: id, peer: peer)
            answerID = id
        }
        guard phase != .closed else { return }
        let body = JSONText.errorBody(message: error.message, type: JSONText.errorType(forStatus: error.status), code: error.code)
        output.append("HTTP/1.1 ")
        output.append(decimal: error.status)
        output.append(byte: 0x20)
        output.append(HTTPStatus.reason(error.status))
        output.append("\r\ndate: ")
        output.append(context.date.bytes)
        output.append("\r\ncontent-type: application/json\r\ncontent-length: ")
        output.append(decimal: body.utf8.count)
        output.append("\r\nx-request-id: ")
        // The id the log line has: the rejected request's own, or the aborted exchange's.
        appendRequestID(answerID ?? context.nextRequestID())
        output.append("\r\nconnection: close\r\n\r\n")
        output.append(string: body)
        beginClose()
    }

    /// Closes after the queued output is written, with a lingering read so the client sees our
    /// answer rather than a reset caused by its unread bytes (nginx lingering_close).
    private func beginClose() {
        guard phase != .closed && phase != .lingering && phase != .closingAfterFlush else { return }
        phase = .closingAfterFlush
        // `input` is not cleared here: this may run inside `process`, which is reading it.
        // `settleInput` drops it once parsing returns (nothing is parsed in this phase).
        if !inCallback { flushOutput() } else { updateInterest(); updateDeadline() }
    }

    private func startLingering() {
        Socket.shutdownWrite(fd)
        if peerClosed {
            close()
            return
        }
        phase = .lingering
        phaseStart = loop.now
        lingerBytes = 0
        updateInterest()
        updateDeadline()
    }

    private func discardInput() {
        let scratch = loop.scratch
        while true {
            let result: IOResult<Int>
            do { result = try Socket.read(fd, into: scratch.baseAddress!, count: scratch.count) } catch {
                close()
                return
            }
            guard case .processed(let n) = result else { return }
            lingerBytes += n
            if n == 0 || lingerBytes > options.lingerMaxBytes {
                close()
                return
            }
        }
    }

    /// EOF, reset or hang-up from the client.
    private func peerWentAway() {
        peerClosed = true
        if let exchange, !exchange.isFinished {
            close()
        } else if !output.isEmpty && phase != .lingering {
            keepAlive = false
            if phase == .awaitingHead || phase == .readingHead { beginClose() }
        } else {
            close()
        }
    }

    func abortConnection() {
        close()
    }

    /// Called when the server is draining: idle connections close now, busy ones after their
    /// current response.
    func drain() {
        keepAlive = false
        if phase == .awaitingHead && input.isEmpty {
            if output.isEmpty { close() } else { beginClose() }
        }
    }

    func close() {
        guard phase != .closed else { return }
        phase = .closed
        timer.clear()
        if let token = timerToken { loop.cancel(token) }
        timerToken = nil
        if let exchange, !exchange.isFinished {
            exchange.isAborted = true
            exchange.endTime = loop.now
            if exchange.status == 0 { exchange.status = 499 }
            self.exchange = nil
            exchange.delegate?.exchangeAborted(exchange)
            endExchange(exchange)
        }
        exchange = nil
        loop.deregister(fd)
        closeDescriptor(fd)
        // `input` may be under `process` right now (a responder closing from a callback): it
        // is dropped by `settleInput` or with the connection, never here.
        if !isParsingInput { input.clear() }
        output.clear()
        context.connectionClosed(self)
    }
}
