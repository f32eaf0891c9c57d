// SPDX-License-Identifier: Apache-2.0
// How a connection ends without losing its last answer: an error answer and then a graceful
// close (flush, shut the write side, read and discard for a while: nginx's lingering_close),
// the client going away, the server draining, and the final close. Also the rule for the bytes
// still in `input` once no further request will be read.
import CLinux
import Glibc
import TollgateIO
import TollgateCore

extension HTTPConnection {
    // MARK: - What is left in `input`

    /// Whether bytes received now may still be parsed as (part of) a request.
    var acceptsInput: Bool {
        switch phase {
        case .awaitingHead, .readingHead, .exchange: return true
        case .closingAfterFlush, .lingering, .closed: return false
        }
    }

    /// After parsing `input`: drops the parsed bytes, or everything once no further request
    /// will be read from this connection. The one place that shrinks `input` after a parse
    /// (see the ownership rule at `processBufferedInput`).
    func settleInput(consumed: Int) {
        if acceptsInput {
            input.consume(min(consumed, input.readableCount))
        } else {
            input.clear()
        }
    }

    // MARK: - Answering an error, then closing

    /// Answers a framing, size or timeout error, then closes gracefully. An exchange in
    /// progress is aborted first (its responder sees `exchangeAborted`).
    func requestFailed(_ error: HTTPParseError) {
        keepAlive = false
        let answerID: RequestID
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
            answerID = context.nextRequestID()
            context.rejected(status: error.status, message: error.message, id: answerID, peer: peer)
        }
        guard phase != .closed else { return }
        let body = JSONText.errorBody(message: error.message, type: JSONText.errorType(forStatus: error.status), code: error.code)
        // The id the log line has: the rejected request's own, or the aborted exchange's.
        HTTPResponseEncoder.writeErrorAnswer(status: error.status, body: body, requestID: answerID,
                                             date: context.date.bytes, into: &output)
        beginClose()
    }

    /// Closes after the queued output is written, with a lingering read so the client sees our
    /// answer rather than a reset caused by its unread bytes (nginx lingering_close).
    func beginClose() {
        guard acceptsInput else { return }  // already closing, lingering or closed
        phase = .closingAfterFlush
        // `input` is not cleared here: this may run inside `process`, which is reading it.
        // `settleInput` drops it once parsing returns (nothing is parsed in this phase).
        if !inCallback { flushOutput() } else { updateInterest(); updateDeadline() }
    }

    /// The answer is out: shut the write side and read what the client still sends, so its
    /// unread bytes do not turn into a reset that destroys the answer in its receive buffer.
    func startLingering() {
        Socket.shutdownWrite(fd)
        if peerClosed {
            close()
            return
        }
        phase = .lingering
        timeouts.lingerStarted(at: loop.now)
        lingerBytes = 0
        updateInterest()
        updateDeadline()
    }

    func discardInput() {
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

    // MARK: - The client or the server ends it

    /// EOF, reset or hang-up from the client.
    func peerWentAway() {
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
        timeouts.disarm()
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
        exchange?.connection = nil  // a finished exchange not yet released: detached too
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
