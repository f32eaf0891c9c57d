// SPDX-License-Identifier: Apache-2.0
// Issue 12 item 5, "forgot the sleep timeout and paid for it": one backend's `idle: {after,
// action}` as a state machine on an injected monotonic clock. The caller makes the calls (Hub
// pause/restart, the configured http request) and reports back; this value only says when to
// act and keeps the counts and the paused time the metrics and the savings log need.
//
//   active --tick: idle for `after`, nothing in flight--> pausing --pauseSucceeded--> paused
//   pausing --pauseFailed--> active (retried `after` later)
//   paused --request or wakeNeeded--> waking --awake--> active;  waking --wakeFailed--> paused
//   paused --request, wakesOnRequest (an `http` action has no wake call)--> active

public struct IdleLifecycle: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case active
        /// The pause call is out.
        case pausing
        case paused(sinceNs: UInt64)
        /// The wake call is out (or the backend is starting after it).
        case waking(sinceNs: UInt64)
    }

    public enum Action: Sendable, Equatable {
        case pause
        case wake
    }

    public let afterNs: UInt64
    /// An `http` action has no wake call: the next request wakes the backend by itself (a
    /// paused one is routed normally and counts as a wake when a request starts).
    public let wakesOnRequest: Bool
    public private(set) var state: State = .active
    public private(set) var lastUsedNs: UInt64
    public private(set) var pauses = 0
    public private(set) var wakes = 0

    public init(afterNs: UInt64, wakesOnRequest: Bool, nowNs: UInt64) {
        self.afterNs = afterNs
        self.wakesOnRequest = wakesOnRequest
        self.lastUsedNs = nowNs
    }

    /// Total ns spent paused so far, the open interval up to `nowNs` included: what the idle
    /// action saved is this time at the backend's hourly price.
    public func pausedNs(nowNs: UInt64) -> UInt64 {
        guard case .paused(let since) = state else { return closedPausedNs }
        return Self.saturatingAdd(closedPausedNs, Self.elapsed(from: since, to: nowNs))
    }

    /// A request starts on this backend (or asks for it). Paused with `wakesOnRequest`: the
    /// request itself wakes it (active, a wake counted, nil). Paused otherwise: waking, and the
    /// caller makes the wake call (`.wake`). While the pause call is out, the request is noted
    /// and `pauseSucceeded` asks for the wake.
    public mutating func requestStarted(nowNs: UInt64) -> Action? {
        touch(nowNs)
        switch state {
        case .active, .waking:
            return nil
        case .pausing:
            requestedWhilePausing = true
            return nil
        case .paused(let since):
            closePausedInterval(since: since, nowNs: nowNs)
            if wakesOnRequest {
                state = .active
                wakes = Self.increment(wakes)
                return nil
            }
            state = .waking(sinceNs: nowNs)
            return .wake
        }
    }

    public mutating func requestEnded(nowNs: UInt64) {
        touch(nowNs)
    }

    /// Periodic check: `.pause` once, when active, nothing is in flight and the backend has been
    /// unused for `after`.
    public mutating func tick(nowNs: UInt64, inFlight: Int) -> Action? {
        guard case .active = state, inFlight <= 0, Self.elapsed(from: lastUsedNs, to: nowNs) >= afterNs else { return nil }
        state = .pausing
        requestedWhilePausing = false
        return .pause
    }

    /// The pause call succeeded: paused from now, a pause counted. If a request came in while
    /// the call was out, the backend is needed again at once: `.wake` (waking) when it has a
    /// wake call, else active with a wake counted (that request wakes it). Otherwise nil.
    @discardableResult
    public mutating func pauseSucceeded(nowNs: UInt64) -> Action? {
        guard case .pausing = state else { return nil }  // a late report: ignore
        pauses = Self.increment(pauses)
        state = .paused(sinceNs: nowNs)
        guard requestedWhilePausing else { return nil }
        requestedWhilePausing = false
        return requestStarted(nowNs: nowNs)
    }

    /// The pause call failed: active again, and unused from now, so the next try is `after`
    /// later rather than on the next tick.
    public mutating func pauseFailed(nowNs: UInt64) {
        guard case .pausing = state else { return }
        state = .active
        requestedWhilePausing = false
        touch(nowNs)
    }

    /// The router chose to wake this paused backend (a wake hint): waking, `.wake`; nil in any
    /// other state.
    public mutating func wakeNeeded(nowNs: UInt64) -> Action? {
        guard case .paused(let since) = state else { return nil }
        closePausedInterval(since: since, nowNs: nowNs)
        state = .waking(sinceNs: nowNs)
        return .wake
    }

    /// The backend is up again (the wake call and its start-up are done, or a request went
    /// through): active, a wake counted, used now.
    public mutating func awake(nowNs: UInt64) {
        switch state {
        case .waking:
            break
        case .paused(let since):
            closePausedInterval(since: since, nowNs: nowNs)
        case .active, .pausing:
            return
        }
        state = .active
        wakes = Self.increment(wakes)
        touch(nowNs)
    }

    /// The wake call failed: paused again from now; a later request (or hint) retries.
    public mutating func wakeFailed(nowNs: UInt64) {
        guard case .waking = state else { return }
        state = .paused(sinceNs: nowNs)
    }

    private var closedPausedNs: UInt64 = 0
    private var requestedWhilePausing = false

    /// The clock is the caller's and monotonic, but a report computed on another thread may
    /// carry an earlier time: `lastUsedNs` never goes back.
    private mutating func touch(_ nowNs: UInt64) {
        lastUsedNs = max(lastUsedNs, nowNs)
    }

    private mutating func closePausedInterval(since: UInt64, nowNs: UInt64) {
        closedPausedNs = Self.saturatingAdd(closedPausedNs, Self.elapsed(from: since, to: nowNs))
    }

    private static func elapsed(from start: UInt64, to end: UInt64) -> UInt64 {
        end > start ? end - start : 0
    }

    private static func saturatingAdd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }

    private static func increment(_ count: Int) -> Int {
        count < .max ? count + 1 : count
    }
}
