// SPDX-License-Identifier: Apache-2.0
// Why one attempt failed: its class in SPEC §3's table (FailoverTable) and a text for the
// client's error, the 503's list of reasons and the log. Upstream text may echo our
// credentials (an error quoting the request's headers), so every text is redacted: an error
// body whole before a message is cut out of it, so no cut can split a secret, and the message
// again after its escapes were decoded.
import TollgateBackends

struct AttemptFailure {
    let outcome: FailoverTable.Outcome
    /// The backend that failed.
    let backend: String
    /// The backend's response status, when it answered with one.
    let status: Int?
    /// What went wrong, redacted.
    let text: String

    /// The backend answered with a status the client does not get (5xx, 429, 401/403, 3xx);
    /// `errorBody` is the start of what it said.
    init(backend: String, status: Int, errorBody: [UInt8], redactor: SecretRedactor) {
        self.outcome = FailoverTable.Outcome(status: status)
        self.backend = backend
        self.status = status
        let upstream = errorBody.isEmpty ? nil : Self.upstreamMessage(redactor.redact(errorBody))
        self.text = redactor.redact(upstream ?? "HTTP \(status)")
    }

    /// The call ended without a reply to pass on; `detail` says how far it got.
    init(backend: String, outcome: BackendOutcome, detail: String, redactor: SecretRedactor) {
        self.outcome = FailoverTable.Outcome(outcome)
        self.backend = backend
        self.status = nil
        let text: String
        switch outcome {
        case .connectFailed(let m), .tlsFailed(let m): text = m
        case .timedOut(let m), .broken(let m): text = m + detail
        case .tooLarge: text = "the backend's response exceeds max_response"
        case .quotaExhausted(let m, _): text = m
        // The job ran and failed on the platform.
        case .jobFailed(let m): text = m + detail
        case .completed: text = "the backend closed without a response"
        // Only a call the gateway stopped ends so, and then it is not asked any more.
        case .cancelled: text = "the backend call was aborted"
        }
        self.text = redactor.redact(text)
    }

    /// No response head within the backend's `first_byte_timeout`.
    static func firstByteTimeout(backend: String) -> AttemptFailure {
        AttemptFailure(backend: backend, outcome: .timedOut, text: "no response within first_byte_timeout")
    }

    private init(backend: String, outcome: FailoverTable.Outcome, text: String) {
        self.outcome = outcome
        self.backend = backend
        self.status = nil
        self.text = text
    }

    /// One entry of the 503's list of reasons.
    var reason: String { "\(backend): \(text)" }

    /// The client's `error.message` when this failure is the last one; `reasons` lists every
    /// candidate's.
    func message(reasons: [String]) -> String {
        switch outcome {
        case .rateLimited:
            return "No backend could take the request: " + reasons.joined(separator: "; ")
        case .credentialsRejected:
            return "\(backend) rejected the gateway's credentials (HTTP \(status ?? 0))"
        case .timedOut:
            return "\(backend) did not answer in time: \(text)"
        case .redirect:
            return "\(backend) answered with a redirect (HTTP \(status ?? 0)); redirects are not followed"
        case .reply, .serverError, .unreachable, .tlsFailed, .broken, .tooLarge:
            return "\(backend) failed: \(text)"
        }
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
}
