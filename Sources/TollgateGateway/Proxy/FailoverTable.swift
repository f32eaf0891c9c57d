// SPDX-License-Identifier: Apache-2.0
// SPEC §3's upstream outcome table as one pure function, the way nginx keeps the conditions
// for trying the next upstream in one table (ngx_http_upstream_next_errors) rather than in the
// code that meets them. How an attempt ended (its class), whether any byte of a response
// reached the client, whether a candidate is left and whether the body can be sent again
// decide everything: the next candidate, the reply passed on, an error answer, or the end of a
// response already under way. No I/O, no state.
import TollgateBackends

enum FailoverTable {
    /// How an attempt ended, in the classes SPEC §3's table tells apart.
    enum Outcome: CaseIterable, Sendable {
        /// A reply the client gets as it is: 1xx/2xx, or a 4xx that is the request's fault.
        case reply
        /// 5xx (but 504): the backend's fault.
        case serverError
        /// Connect or transfer timeout, no first byte within `first_byte_timeout`, or an
        /// upstream 504: answered 504 as nginx does.
        case timedOut
        /// 429 (a quota error, with the backends that report one).
        case rateLimited
        /// 401/403: the backend refused the gateway's own credentials.
        case credentialsRejected
        /// 3xx: not followed (curl's FOLLOWLOCATION is off) and not passed on, since its
        /// Location could point the client at the backend's origin (SPEC §7).
        case redirect
        /// Connect refused, unreachable, DNS.
        case unreachable
        /// TLS handshake or certificate: not "unreachable" (SPEC §3).
        case tlsFailed
        /// Reset, truncated, a protocol error, no reply at all, or a call stopped.
        case broken
        /// The reply exceeds `max_response`.
        case tooLarge

        /// The class of a response status.
        init(status: Int) {
            switch status {
            case 429: self = .rateLimited
            case 401, 403: self = .credentialsRejected
            case 504: self = .timedOut
            case 300..<400: self = .redirect
            case 500...: self = .serverError
            default: self = .reply
            }
        }

        /// The class of a call that ended without a reply to pass on. A call that
        /// "completed" without one closed without a response; one the gateway did not stop
        /// but that says it was cancelled is broken as well.
        init(_ outcome: BackendOutcome) {
            switch outcome {
            case .connectFailed: self = .unreachable
            case .tlsFailed: self = .tlsFailed
            case .timedOut: self = .timedOut
            case .tooLarge: self = .tooLarge
            // SPEC §3: a platform's quota error is a 429 (the next candidate; 503 if none is left).
            case .quotaExhausted: self = .rateLimited
            // The job ran and failed: the backend's fault, like a 5xx.
            case .jobFailed: self = .serverError
            case .broken, .completed, .cancelled: self = .broken
            }
        }
    }

    /// What becomes of the request.
    enum Action: Equatable, Sendable {
        /// Relay the reply to the client.
        case passThrough
        /// Give the request to the model's next candidate.
        case retryNext
        /// Answer the client with this error (nothing reached it yet).
        case fail(status: Int, code: String)
        /// Part of the response reached the client: end it (a stream with a final `error`
        /// event, a plain reply by closing the connection).
        case endResponse
    }

    /// The table's right column: what the client gets when `outcome` ends the last attempt.
    /// Nil for a reply, which the client gets itself.
    static func answer(for outcome: Outcome) -> (status: Int, code: String)? {
        switch outcome {
        case .reply: return nil
        case .serverError, .broken: return (502, "bad_gateway")
        case .timedOut: return (504, "backend_timeout")
        case .rateLimited: return (503, "no_backend_available")
        case .credentialsRejected: return (502, "backend_misconfigured")
        case .redirect: return (502, "backend_redirect")
        case .unreachable: return (502, "backend_unreachable")
        case .tlsFailed: return (502, "backend_tls")
        case .tooLarge: return (502, "response_too_large")
        }
    }

    /// The decision. A reply is passed on; a failure after a byte reached the client can only
    /// end the response (SPEC §3); before that, it goes to the next candidate while one is
    /// left and the body can be sent again, else the client gets the last failure's answer.
    static func decide(_ outcome: Outcome, reachedClient: Bool, attemptsLeft: Bool, replayable: Bool) -> Action {
        guard let answer = answer(for: outcome) else { return .passThrough }
        if reachedClient { return .endResponse }
        if attemptsLeft && replayable { return .retryNext }
        return .fail(status: answer.status, code: answer.code)
    }
}
