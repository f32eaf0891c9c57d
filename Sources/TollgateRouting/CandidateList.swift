// SPDX-License-Identifier: Apache-2.0
// The backends one request may try, in order, and how many attempts it gets (SPEC §3 models:
// `backends` in config order, `attempts`). The cost-aware router (SPEC §4 "Cheapest") replaces
// the order; the exchange only ever asks for the next candidate.

public struct CandidateList: Sendable, Equatable {
    /// Backend indices in the order they are tried.
    public let order: [Int]
    /// At most this many attempts (never more than there are candidates, at least one).
    public let maxAttempts: Int
    public private(set) var attemptsMade = 0

    /// Whether another attempt is allowed (a candidate may still be skipped as ineligible).
    public var hasAttemptsLeft: Bool { attemptsMade < maxAttempts && position < order.count }

    public init(order: [Int], attempts: Int) {
        self.order = order
        self.maxAttempts = min(max(attempts, 1), order.count)
    }

    /// The next backend to try, skipping those `isEligible` refuses (an open circuit, a
    /// misconfigured kind); nil when the attempts or the candidates are used up. A skipped
    /// candidate costs no attempt.
    public mutating func next(isEligible: (Int) -> Bool = { _ in true }) -> Int? {
        while attemptsMade < maxAttempts, position < order.count {
            let candidate = order[position]
            position += 1
            if isEligible(candidate) {
                attemptsMade += 1
                return candidate
            }
        }
        return nil
    }

    private var position = 0
}
