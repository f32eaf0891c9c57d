// SPDX-License-Identifier: Apache-2.0
// A connection's clocks: which deadline applies in each phase (header, body, keep-alive idle,
// send, linger, as nginx's client_header_timeout, client_body_timeout, keepalive_timeout,
// send_timeout and lingering_timeout) and what its expiry means. Pure: every `now` is handed
// in (the loop's clock in the server, plain numbers in tests); `HTTPConnection` schedules the
// loop timer it returns and acts on the expiry.
import TollgateIO

struct HTTPConnectionTimeouts {
    /// What a deadline that passed means for the connection.
    enum Expiry: Equatable {
        /// Nothing to answer: a keep-alive connection idle too long, a client that stopped
        /// reading our response, or a close or linger that ran out of time.
        case close
        /// No complete request head in time → 408.
        case header
        /// No request body bytes in time → 408.
        case body
    }

    /// What a fired loop timer means.
    enum Outcome: Equatable {
        case expired(Expiry)
        /// The deadline moved later since the entry was scheduled: schedule it again.
        case reschedule(UInt64)
        /// A stale entry: nothing to do.
        case ignore
    }

    private let headerTimeout: UInt64
    private let bodyTimeout: UInt64
    private let idleTimeout: UInt64
    private let sendTimeout: UInt64
    private let lingerTimeout: UInt64
    /// One pending loop timer entry at a time, however often the deadline moves.
    private var slot = TimerSlot()
    /// When the current wait began: accept, a later head's first byte, the end of a response,
    /// the start of the linger.
    private var phaseStart: UInt64
    private var lastBodyProgress: UInt64 = 0
    private var lastWriteProgress: UInt64 = 0
    /// No request has started yet: the first head's time counts from accept, and waiting for
    /// it is not keep-alive idling.
    private(set) var isFirstRequest = true

    init(options: HTTPServerOptions, now: UInt64) {
        headerTimeout = options.headerTimeout
        bodyTimeout = options.bodyTimeout
        idleTimeout = options.idleTimeout
        sendTimeout = options.sendTimeout
        lingerTimeout = options.lingerTimeout
        phaseStart = now
    }

    // MARK: - What happened

    /// The first bytes of a head arrived. A later request's head gets the whole header timeout
    /// from here; the first one's counts from accept, so a silent client cannot stretch it.
    mutating func headStarted(at now: UInt64) {
        if !isFirstRequest { phaseStart = now }
    }

    /// A head was complete: the body's clock starts.
    mutating func exchangeStarted(at now: UInt64) {
        isFirstRequest = false
        lastBodyProgress = now
    }

    /// Request body bytes arrived, or the responder started (or resumed) reading the body.
    mutating func bodyProgressed(at now: UInt64) {
        lastBodyProgress = now
    }

    /// The client accepted response bytes (or a head was queued for it).
    mutating func wrote(at now: UInt64) {
        lastWriteProgress = now
    }

    /// The response is done and the connection waits for the next request (keep-alive).
    mutating func idleStarted(at now: UInt64) {
        phaseStart = now
    }

    /// The write side is shut and the connection reads what the client still sends.
    mutating func lingerStarted(at now: UInt64) {
        phaseStart = now
    }

    // MARK: - Deadlines

    /// The deadline for the connection's state (`.max`: none).
    /// - Parameters:
    ///   - readingBody: the responder asked for the body, has not paused it, and it is not all here.
    ///   - writePending: response bytes are queued that the client has not taken.
    func deadline(phase: HTTPConnection.Phase, readingBody: Bool, writePending: Bool) -> UInt64 {
        switch phase {
        case .awaitingHead:
            return phaseStart + (isFirstRequest ? headerTimeout : idleTimeout)
        case .readingHead:
            return phaseStart + headerTimeout
        case .exchange:
            var deadline = UInt64.max
            if readingBody { deadline = lastBodyProgress + bodyTimeout }
            if writePending { deadline = min(deadline, lastWriteProgress + sendTimeout) }
            return deadline
        case .closingAfterFlush:
            return lastWriteProgress + sendTimeout
        case .lingering:
            return phaseStart + lingerTimeout
        case .closed:
            return .max
        }
    }

    /// Sets the deadline for the connection's state.
    /// - Returns: when the loop must call back, if no pending timer entry covers it already.
    mutating func arm(phase: HTTPConnection.Phase, readingBody: Bool, writePending: Bool) -> UInt64? {
        slot.set(deadline(phase: phase, readingBody: readingBody, writePending: writePending))
    }

    /// No deadline any more (the connection closed): a pending entry will be ignored.
    mutating func disarm() {
        slot.clear()
    }

    /// A loop timer entry scheduled for `entryDeadline` fired at `now`.
    mutating func fired(entryDeadline: UInt64, now: UInt64, phase: HTTPConnection.Phase, readingBody: Bool) -> Outcome {
        switch slot.fired(entryDeadline: entryDeadline, now: now) {
        case .expired: return .expired(expiry(phase: phase, readingBody: readingBody, now: now))
        case .reschedule(let next): return .reschedule(next)
        case .ignore: return .ignore
        }
    }

    /// What the deadline that passed in `phase` means.
    func expiry(phase: HTTPConnection.Phase, readingBody: Bool, now: UInt64) -> Expiry {
        switch phase {
        case .awaitingHead where !isFirstRequest:
            return .close  // keep-alive idle: a silent close, as nginx does
        case .awaitingHead, .readingHead:
            return .header
        case .exchange:
            // Both clocks run during an exchange; the body's answers with a 408, the send
            // timeout (the client stopped reading our response) with a close.
            return readingBody && now >= lastBodyProgress + bodyTimeout ? .body : .close
        case .closingAfterFlush, .lingering, .closed:
            return .close
        }
    }
}
