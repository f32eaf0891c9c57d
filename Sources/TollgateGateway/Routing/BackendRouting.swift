// SPDX-License-Identifier: Apache-2.0
// What the router, the circuit and the health checks know of one backend beyond its price
// (SPEC §2 `max_concurrency`, `cold_start`, `timeout`, `circuit`, `health`, `idle`), in the
// runtime's units: nanoseconds and milliseconds, never the config's Duration.
public import TollgateBackends

public struct BackendRouting: Sendable, Equatable {
    /// Requests in flight at once, counted across every loop.
    public var maxConcurrency: Int
    /// Expected wake-up time when cold.
    public var coldStartMs: Int64
    /// The whole request (`timeout`): the request's deadline for failover is built on it.
    public var timeoutNs: UInt64
    /// `circuit.failures`, `circuit.cooldown`, `circuit.max_cooldown`.
    public var circuitFailures: Int
    public var circuitCooldownNs: UInt64
    public var circuitMaxCooldownNs: UInt64
    /// The active probe (SPEC §4: one that neither wakes nor bills a GPU), nil: passive only.
    public var health: Health?
    /// `idle: {after, action}`, nil: none.
    public var idle: Idle?
    /// Where probes and idle calls go: the backend's connection settings, and the Hub's API.
    public var endpoint: BackendEndpoint?
    public var hub: HubEndpoint

    public struct Health: Sendable, Equatable {
        public var target: ProbeTarget
        public var intervalNs: UInt64
        public init(target: ProbeTarget, intervalNs: UInt64) {
            self.target = target
            self.intervalNs = max(intervalNs, 1_000_000_000)
        }
    }

    public struct Idle: Sendable, Equatable {
        public var afterNs: UInt64
        public var call: IdleCall
        public init(afterNs: UInt64, call: IdleCall) {
            self.afterNs = afterNs
            self.call = call
        }
        /// An `http` action has no wake call: the backend's next request wakes it.
        public var wakesOnRequest: Bool {
            if case .http = call { return true }
            return false
        }
    }

    public init(maxConcurrency: Int = 16, coldStartMs: Int64 = 0, timeoutNs: UInt64 = 300_000_000_000,
                circuitFailures: Int = 3, circuitCooldownNs: UInt64 = 10_000_000_000,
                circuitMaxCooldownNs: UInt64 = 300_000_000_000, health: Health? = nil, idle: Idle? = nil,
                endpoint: BackendEndpoint? = nil, hub: HubEndpoint = HubEndpoint(baseURL: HubEndpoint.defaultBaseURL)) {
        self.health = health
        self.idle = idle
        self.endpoint = endpoint
        self.hub = hub
        self.maxConcurrency = max(1, maxConcurrency)
        self.coldStartMs = max(0, coldStartMs)
        self.timeoutNs = timeoutNs
        self.circuitFailures = max(1, circuitFailures)
        self.circuitCooldownNs = circuitCooldownNs
        self.circuitMaxCooldownNs = circuitMaxCooldownNs
    }
}
