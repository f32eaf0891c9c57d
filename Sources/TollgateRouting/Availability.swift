// SPDX-License-Identifier: Apache-2.0
// What the gateway's health state (circuit, cool-down, probe, idle action) says about one
// backend at the moment of a routing decision. The router reads only this value, so every
// health source is folded into it by the caller, and the decision stays a pure function.

public enum Availability: Sendable, Equatable {
    case ready
    /// Circuit open until `untilNs`; `lastFailureNs` orders the "every circuit is open" fallback
    /// (issue 12 item 3: try the least recently failed one rather than refuse outright).
    case circuitOpen(untilNs: UInt64, lastFailureNs: UInt64)
    /// Half-open with its one trial out: not pickable until the trial reports.
    case halfOpenBusy
    /// Not pickable for a reason the caller renders (cooled down, probe down, misconfigured,
    /// over budget).
    case unavailable
    /// Paused by the idle action: pickable, its expected latency adds `wakeMs` (the caller
    /// wakes it).
    case paused(wakeMs: Int64)
}
