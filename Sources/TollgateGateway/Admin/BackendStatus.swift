// SPDX-License-Identifier: Apache-2.0
// What `GET /admin/backends` shows of one backend (issue 12: "each decision is explainable"):
// its state, load, the router's estimates, circuit, cool-down or probe reason, idle lifecycle
// and the inputs of its last routing decisions. A plain value filled from the shared board at
// the request; AdminBackendsEndpoint renders it. Names and texts are the operator's config
// and the gateway's own words — never credentials (redaction happens before they land here).

struct BackendStatus: Sendable {
    /// The router's current expected run of one model on this backend.
    struct ExpectedRun: Sendable, Equatable {
        var model: String
        var ms: Int64
    }

    struct Circuit: Sendable, Equatable {
        /// "closed" | "open" | "half_open".
        var state: String
        var consecutiveFailures: Int
        /// How long the circuit has been open; nil unless open.
        var openForMs: Int64?
        /// The cool-down the next opening will last (doubling up to `max_cooldown`).
        var nextCooldownMs: Int64
    }

    struct Probe: Sendable, Equatable {
        /// What is probed, e.g. "GET /health", "hub runtime of org/space" (no credentials).
        var target: String
        /// The last verdict in words, e.g. "up (warm)", "asleep", "down: connection refused".
        var verdict: String
        /// Time since that verdict; nil before the first probe answered.
        var agoMs: Int64?
    }

    struct Idle: Sendable, Equatable {
        /// "active" | "pausing" | "paused" | "waking".
        var state: String
        /// `idle.after`, milliseconds.
        var after: Int64
        var pauses: Int
        var wakes: Int
        /// The idle cost the pauses saved so far, dollars.
        var savedUSD: Double
    }

    var name: String
    /// The backend's `kind` (openai, runpod, space, …).
    var kind: String
    /// "always_on" | "per_second" | "per_request"; nil when no price is configured.
    var billing: String? = nil
    /// "up" | "circuit_open" | "half_open" | "cooling_down" | "probe_down" | "starting" |
    /// "paused" | "waking" | "misconfigured" | "over_budget".
    var state: String
    /// Whether the router may pick it now (`tollgate_backend_up`).
    var eligible: Bool
    var inFlight: Int
    var maxConcurrency: Int
    var expectedRun: [ExpectedRun] = []
    /// Probability the next request meets it cold, 0...1.
    var pCold: Double = 0
    /// The cold-after the router currently assumes, milliseconds.
    var coldAfterMs: Int64 = 0
    var circuit: Circuit
    /// Why it is not eligible (cool-down, probe, misconfiguration), in words; nil when it is.
    var reason: String? = nil
    /// nil when no probe is configured for it.
    var probe: Probe? = nil
    /// nil when it has no `idle` policy.
    var idle: Idle? = nil
    /// The newest last, bounded by the board.
    var lastDecisions: [RoutingDecisionRecord] = []
}

/// This backend's part in one routing decision: the inputs the router compared.
struct RoutingDecisionRecord: Sendable, Equatable {
    /// When the decision was made, unix milliseconds.
    var atUnixMs: Int64
    var model: String
    /// Whether this backend was the one picked.
    var picked: Bool
    var expectedCostUSD: Double
    var expectedLatencyMs: Int64
    var pCold: Double
    var inFlight: Int
    /// Why it was skipped (e.g. "full 4/4", "too slow 9000 ms > 5000 ms", "circuit open"); nil
    /// when it was pickable.
    var skip: String? = nil
}
