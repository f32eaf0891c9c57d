// SPDX-License-Identifier: Apache-2.0
// One client connection on one loop: reads into the loop's scratch buffer, parses, hands each
// request to the responder as an HTTPExchange, queues responses in order and applies
// backpressure both ways. Loop-confined; never touched elsewhere. Its other roles have their
// own files: the bytes of a response (HTTPResponseEncoder), the deadlines (HTTPConnectionTimeouts)
// and the ways it ends (HTTPConnection+Closing.swift, which shares this state).
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

    let fd: Int32
    /// The client's address as accept(2) saw it (a proxy's, when there is one in front).
    let peer: IPAddress
    /// `peer` as text, formatted for the first exchange and shared by the later ones.
    private(set) lazy var peerText: String = peer.description
    /// Not `unowned` (safe): each use of a safe unowned reference is an atomic strong retain
    /// and release, several per request. The lifetime is structural: the loop holds the context
    /// for its whole life (an iteration observer), and every call into a connection starts on
    /// that loop (its I/O, its timers, a responder on it through an attached exchange).
    unowned(unsafe) let context: HTTPServerLoopContext
    let loop: EventLoop
    let options: HTTPServerOptions
    /// Received bytes not parsed yet. See `processBufferedInput` for who may mutate it when.
    var input = ByteBuffer()
    var output = ByteBuffer()
    private var parser: HTTPRequestParser
    var phase: Phase = .awaitingHead
    var exchange: HTTPExchange?
    var keepAlive = true
    /// HTTPExchange.connectionContext: the responder's per-connection state.
    var responderContext: AnyObject?
    var encoder = HTTPResponseEncoder()
    var timeouts: HTTPConnectionTimeouts
    /// The latest heap entry scheduled for the deadline, cancelled on close so a closed
    /// connection is released at once rather than when its deadline passes.
    var timerToken: TimerToken?
    private var requestsServed = 0
    var lingerBytes = 0
    /// Set while this connection is inside its own I/O callback: writes are then flushed once
    /// at the end instead of one syscall each, and re-entrant parsing is avoided.
    var inCallback = false
    var peerClosed = false
    /// True while `process` parses the bytes of `input` itself (see `processBufferedInput`).
    var isParsingInput = false
    /// Queued in the loop context's flush list (see `requestFlush`).
    var flushScheduled = false

    init(fd: Int32, peer: IPAddress, context: HTTPServerLoopContext) {
        self.fd = fd
        self.peer = peer
        self.context = context
        self.loop = context.loop
        self.options = context.options
        self.parser = HTTPRequestParser(limits: context.options.limits)
        self.timeouts = HTTPConnectionTimeouts(options: context.options, now: context.loop.now)
    }

    func start() {
        updateDeadline()
    }

    deinit {
        // The exchange may outlive us (a responder still holds it): it must not keep a
        // pointer to freed memory (see `HTTPExchange.connection`).
        exchange?.connection = nil
    }

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
                guard let exchange, exchange.isReadingBody else { return offset }
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
                    timeouts.headStarted(at: loop.now)
                    updateDeadline()
                }
                return offset
            case .head(let head):
                startExchange(head)
            case .body(let range):
                guard let exchange else { continue }
                exchange.bodyBytesIn += range.count
                timeouts.bodyProgressed(at: loop.now)
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
        if !head.keepAlive || requestsServed >= options.maxRequestsPerConnection || context.isDraining {
            keepAlive = false
        }
        let exchange = HTTPExchange(head: head, id: context.nextRequestID(), loop: loop, connection: self,
                                    peer: peer, peerText: peerText, wallTime: context.wallClockNanos)
        self.exchange?.connection = nil  // none in practice: the previous one ended first
        self.exchange = exchange
        timeouts.exchangeStarted(at: loop.now)
        context.responder.respond(to: exchange)
        updateDeadline()
    }

    func bodyRequested(_ exchange: HTTPExchange) {
        guard exchange === self.exchange, phase == .exchange else { return }
        if exchange.head.expectContinue && !exchange.isResponseStarted && !exchange.isBodyComplete
            && exchange.bodyBytesIn == 0 {
            HTTPResponseEncoder.writeContinue(into: &output)
        }
        timeouts.bodyProgressed(at: loop.now)
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
    /// (they usually point back at the exchange: without this every request would leak) and
    /// detaches it: from here on its calls are no-ops, however long it lives.
    func endExchange(_ exchange: HTTPExchange) {
        context.responder.exchangeEnded(exchange)
        exchange.delegate = nil
        exchange.context = nil
        exchange.connection = nil
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
        timeouts.idleStarted(at: loop.now)
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
        if !exchange.isBodyComplete && !exchange.bodyRequested {
            // The body will never be read: its bytes must not be taken for the next request.
            keepAlive = false
        }
        let minorVersion = exchange.head.minorVersion
        if HTTPResponseHead.framing(status: status, length: length, minorVersion: minorVersion, isHEAD: exchange.isHEAD)
            == .closeDelimited {
            // Only the close tells an HTTP/1.0 client where a streamed body ends.
            keepAlive = false
        }
        // The client's id is read in place (no copy of the request head).
        exchange.bytesOut += exchange.head.withRequestIDBytes { echo in
            encoder.writeHead(status: status, contentType: contentType, length: length, minorVersion: minorVersion,
                              isHEAD: exchange.isHEAD, keepAlive: keepAlive, requestID: exchange.id, echo: echo,
                              headers: exchange.extraHeaders.map { headers.appending($0) } ?? headers,
                              date: context.date.bytes, into: &output)
        }
        timeouts.wrote(at: loop.now)
    }

    @discardableResult
    func writeBody(_ exchange: HTTPExchange, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard exchange === self.exchange, phase == .exchange else { return false }
        let before = output.readableCount
        guard encoder.writeBody(bytes, into: &output) else { return true }
        exchange.bytesOut += output.readableCount - before
        if encoder.isDeclaredBodyComplete && !inCallback {
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
        exchange.bytesOut += encoder.writeEnd(into: &output)
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

    func flushOutput() {
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
            timeouts.wrote(at: loop.now)
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

    func updateInterest() {
        guard phase != .closed else { return }
        var interest: IOEvents = []
        if !output.isEmpty { interest.insert(.write) }
        switch phase {
        case .awaitingHead, .readingHead:
            interest.insert(output.readableCount > options.highWaterMark || !input.isEmpty && input.readableCount > options.limits.maxHeader ? .readEOF : .read)
        case .exchange:
            if let exchange, exchange.isReadingBody {
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

    // MARK: - Deadlines

    /// Moves the loop timer to the deadline of the connection's present state.
    func updateDeadline() {
        let readingBody = exchange?.isReadingBody ?? false
        if let at = timeouts.arm(phase: phase, readingBody: readingBody, writePending: !output.isEmpty) {
            timerToken = loop.schedule(self, at: at)
        }
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        guard phase != .closed else { return }
        let readingBody = exchange?.isReadingBody ?? false
        switch timeouts.fired(entryDeadline: deadline, now: now, phase: phase, readingBody: readingBody) {
        case .expired(let expiry): timedOut(expiry)
        case .reschedule(let next): timerToken = loop.schedule(self, at: next)
        case .ignore: break
        }
    }

    private func timedOut(_ expiry: HTTPConnectionTimeouts.Expiry) {
        switch expiry {
        case .close: close()
        case .header: requestFailed(.timeout("no complete request head within the header timeout"))
        case .body: requestFailed(.timeout("no request body bytes within the body timeout"))
        }
        if phase != .closed { flushOutput() }
    }
}
