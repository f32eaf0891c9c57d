// SPDX-License-Identifier: Apache-2.0
public import TollgateCore

/// What the period's traffic would have cost on one target, and how that was worked out.
public struct WhatIfEstimate: Sendable, Equatable {
    public let target: WhatIfTarget
    public let cost: MicroDollars
    /// The time the target bills: Σ billed GPU time (per_second), the period or the awake time
    /// plus wake-ups, times the instances (always_on); zero for per_request.
    public let billedMs: Int64
    /// always_on: instances the logged peak concurrency needs (1 otherwise).
    public let instances: Int
    /// Wake-ups billed (always_on with a sleep timer) or cold starts (per_second).
    public let wakes: Int
    /// A short human account: "13.2 h awake of 720.0 h, 50 wakes × 60 s".
    public let basis: String

    public init(target: WhatIfTarget, cost: MicroDollars, billedMs: Int64, instances: Int = 1, wakes: Int = 0,
                basis: String) {
        self.target = target
        self.cost = cost
        self.billedMs = billedMs
        self.instances = instances
        self.wakes = wakes
        self.basis = basis
    }
}
