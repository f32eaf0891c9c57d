// SPDX-License-Identifier: Apache-2.0
// requests_per_minute as a token bucket: it holds at most `rpm` requests (a burst of one
// minute's worth) and refills at rpm per 60 s, continuously. Integer arithmetic only, on an
// injected monotonic clock in nanoseconds, so tests drive it exactly and a clock that steps
// backwards is ignored rather than minting tokens. A fraction of a token is kept as "token
// nanoseconds" (1 token = 60e9 of them, refilled at `rpm` per ns); the products that could
// pass Int64 (rpm up to 1e9 × 60e9) go through 128-bit full-width multiply and divide.

public struct TokenBucket: Sendable, Equatable {
    public struct Decision: Sendable, Equatable {
        /// Whether this request may go (a token was taken).
        public let allowed: Bool
        /// Whole requests left in the bucket after this decision.
        public let remaining: Int64
        /// When refused: nanoseconds until one request is available (0 when allowed).
        public let retryAfterNs: Int64
        /// Nanoseconds until the bucket is full again (0 when it is full): OpenAI's
        /// `x-ratelimit-reset-requests`.
        public let resetNs: Int64

        public init(allowed: Bool, remaining: Int64, retryAfterNs: Int64, resetNs: Int64) {
            self.allowed = allowed
            self.remaining = remaining
            self.retryAfterNs = retryAfterNs
            self.resetNs = resetNs
        }
    }

    /// One token in token-nanoseconds.
    static let unit: UInt64 = 60_000_000_000

    /// Requests per minute, the bucket's capacity; 0 means unlimited (as `limits:` says).
    public private(set) var requestsPerMinute: Int64
    private var tokens: Int64
    /// Token-nanoseconds toward the next token, 0 ..< unit.
    private var fraction: UInt64
    private var last: Int64

    /// A full bucket at `now` (nanoseconds of a monotonic clock). Negative rpm counts as 0.
    public init(requestsPerMinute: Int64, now: Int64) {
        self.requestsPerMinute = max(0, requestsPerMinute)
        self.tokens = self.requestsPerMinute
        self.fraction = 0
        self.last = now
    }

    /// Takes one request's token if there is one.
    public mutating func take(now: Int64) -> Decision {
        guard requestsPerMinute > 0 else { return Decision(allowed: true, remaining: 0, retryAfterNs: 0, resetNs: 0) }
        refill(now: now)
        if tokens > 0 {
            tokens -= 1
            return Decision(allowed: true, remaining: tokens, retryAfterNs: 0, resetNs: resetNs())
        }
        // ceil((unit - fraction) / rpm): at most 60 s.
        let retry = (Self.unit - fraction + UInt64(requestsPerMinute) - 1) / UInt64(requestsPerMinute)
        return Decision(allowed: false, remaining: 0, retryAfterNs: Int64(retry), resetNs: resetNs())
    }

    /// The state at `now` without taking anything (for headers on a response that took none).
    public func peek(now: Int64) -> Decision {
        guard requestsPerMinute > 0 else { return Decision(allowed: true, remaining: 0, retryAfterNs: 0, resetNs: 0) }
        var copy = self
        copy.refill(now: now)
        let retry = copy.tokens > 0 ? 0 : (Self.unit - copy.fraction + UInt64(requestsPerMinute) - 1) / UInt64(requestsPerMinute)
        return Decision(allowed: copy.tokens > 0, remaining: copy.tokens, retryAfterNs: Int64(retry), resetNs: copy.resetNs())
    }

    /// A new limit (a reload): the tokens carry over, capped at the new capacity, so a reload
    /// neither refills a bucket nor empties one.
    public mutating func setRequestsPerMinute(_ rpm: Int64, now: Int64) {
        refill(now: now)
        let rpm = max(0, rpm)
        guard rpm != requestsPerMinute else { return }
        if requestsPerMinute == 0 { tokens = rpm; fraction = 0 }  // was unlimited: start full
        requestsPerMinute = rpm
        if tokens >= rpm {
            tokens = rpm
            fraction = 0
        }
    }

    private mutating func refill(now: Int64) {
        // A clock that went backwards (or the same instant) adds nothing. now > last, so the
        // wrapping difference read unsigned is the true one, even across the whole Int64 range.
        guard now > last else { return }
        let elapsed = UInt64(bitPattern: now &- last)
        last = now
        if tokens >= requestsPerMinute || elapsed >= Self.unit {
            tokens = requestsPerMinute
            fraction = 0
            return
        }
        // elapsed < 60e9 and rpm ≤ Int64.max: the product needs 128 bits; the quotient is at
        // most rpm, so it fits.
        let rpm = UInt64(requestsPerMinute)
        let product = rpm.multipliedFullWidth(by: elapsed)
        let (low, carry) = product.low.addingReportingOverflow(fraction)
        let high = product.high + (carry ? 1 : 0)
        let (added, rest) = Self.unit.dividingFullWidth((high: high, low: low))
        let total = UInt64(tokens).addingReportingOverflow(added)
        if total.overflow || total.partialValue >= rpm {
            tokens = requestsPerMinute
            fraction = 0
        } else {
            tokens = Int64(total.partialValue)
            fraction = rest
        }
    }

    /// ceil(((rpm - tokens) × unit - fraction) / rpm): at most 60 s.
    private func resetNs() -> Int64 {
        let missing = UInt64(requestsPerMinute - tokens)
        guard missing > 0 else { return 0 }
        let product = missing.multipliedFullWidth(by: Self.unit)
        let (low, borrow) = product.low.subtractingReportingOverflow(fraction)
        var high = product.high - (borrow ? 1 : 0)
        // + (rpm - 1) for the ceiling.
        let (roundedLow, carry) = low.addingReportingOverflow(UInt64(requestsPerMinute) - 1)
        high += carry ? 1 : 0
        let (quotient, _) = UInt64(requestsPerMinute).dividingFullWidth((high: high, low: roundedLow))
        return Int64(quotient)
    }
}
