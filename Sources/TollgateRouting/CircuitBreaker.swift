// SPDX-License-Identifier: Apache-2.0
// SPEC §4's circuit, as a pure state machine on an injected monotonic clock (nanoseconds): a
// backend is healthy until `failures` consecutive failures open its circuit; it stays open for
// `cooldown`, doubling on each failed trial up to `maxCooldown`; then one half-open trial
// decides. No I/O and no clock reads here, so every transition is tested with explicit times
// (the same shape as Envoy's outlier detection ejection, which multiplies its base ejection
// time by the number of ejections up to a maximum).

public struct CircuitBreaker: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case closed(consecutiveFailures: Int)
        case open(until: UInt64)
        /// One trial request is out; others wait for its verdict.
        case halfOpen
    }

    public let failureThreshold: Int
    public let cooldownNs: UInt64
    public let maxCooldownNs: UInt64
    public private(set) var state: State = .closed(consecutiveFailures: 0)
    /// The cooldown the next opening will use.
    public private(set) var currentCooldownNs: UInt64
    /// When the last failure was recorded: orders the router's "every circuit is open"
    /// fallback (the least recently failed backend gets the trial). Nil until a failure.
    public private(set) var lastFailureNs: UInt64?
    /// Failures since the last success, in any state (for /admin/backends), saturating.
    public private(set) var consecutiveFailures = 0

    public init(failureThreshold: Int, cooldownNs: UInt64, maxCooldownNs: UInt64) {
        self.failureThreshold = max(failureThreshold, 1)
        self.cooldownNs = max(cooldownNs, 1)
        self.maxCooldownNs = max(maxCooldownNs, self.cooldownNs)
        self.currentCooldownNs = self.cooldownNs
    }

    /// Whether a request may go to the backend now. An open circuit whose cooldown has passed
    /// turns half-open and admits exactly this one request as its trial.
    public mutating func admit(now: UInt64) -> Bool {
        switch state {
        case .closed:
            return true
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen
            return true
        case .halfOpen:
            return false
        }
    }

    /// Whether the backend counts as up (`tollgate_backend_up`): closed, or open with its
    /// cooldown over (the next request will be the trial), or half-open.
    public func isEligible(now: UInt64) -> Bool {
        if case .open(let until) = state { return now >= until }
        return true
    }

    /// The circuit's part of the router's `Availability`: an open circuit whose cooldown has
    /// passed is ready (the caller admits the trial with `admit`); a half-open one with its
    /// trial out is busy.
    public func availability(now: UInt64) -> Availability {
        switch state {
        case .closed:
            return .ready
        case .open(let until):
            return now >= until ? .ready : .circuitOpen(untilNs: until, lastFailureNs: lastFailureNs ?? 0)
        case .halfOpen:
            return .halfOpenBusy
        }
    }

    public mutating func recordSuccess() {
        state = .closed(consecutiveFailures: 0)
        currentCooldownNs = cooldownNs
        consecutiveFailures = 0
    }

    public mutating func recordFailure(now: UInt64) {
        lastFailureNs = now
        if consecutiveFailures < .max { consecutiveFailures += 1 }
        switch state {
        case .closed(let failures):
            if failures + 1 >= failureThreshold { open(now: now) } else { state = .closed(consecutiveFailures: failures + 1) }
        case .halfOpen:
            // The trial failed: open again for twice as long (capped).
            let (doubled, overflow) = currentCooldownNs.multipliedReportingOverflow(by: 2)
            currentCooldownNs = overflow ? maxCooldownNs : min(doubled, maxCooldownNs)
            open(now: now)
        case .open:
            break  // a late report from a request admitted before the circuit opened
        }
    }

    /// The half-open trial never reached the backend (its slot was taken elsewhere, or its
    /// client left before an answer): it decides nothing, and the next request is the trial.
    /// No effect unless half-open.
    public mutating func reopenUntried(now: UInt64) {
        guard case .halfOpen = state else { return }
        state = .open(until: now)
    }

    private mutating func open(now: UInt64) {
        let (until, overflow) = now.addingReportingOverflow(currentCooldownNs)
        state = .open(until: overflow ? .max : until)
    }
}
