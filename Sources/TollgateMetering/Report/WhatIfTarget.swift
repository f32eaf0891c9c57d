// SPDX-License-Identifier: Apache-2.0
public import TollgateCore

/// Somewhere the logged traffic can be re-priced: a configured backend, or an entry of
/// `prices.yaml` (SPEC §1). Plain values, so the pricer needs neither the config nor a file.
public struct WhatIfTarget: Sendable, Equatable {
    public enum Origin: String, Sendable, Equatable {
        /// A backend of the running config: what the traffic would cost on it alone.
        case backend
        /// A platform from the price list.
        case prices
    }

    public let name: String
    public let cost: CostModel
    /// always_on: requests one instance serves at once.
    public let maxConcurrency: Int
    /// always_on: billing stops after this many idle milliseconds; nil = never sleeps.
    public let sleepAfterMs: Int64?
    /// Billed wake-up time per wake (always_on with a sleep timer) or per cold start (per_second).
    public let coldStartMs: Int64
    public let origin: Origin
    public let source: String?
    public let asOf: String?
    public let notes: String?

    public init(name: String, cost: CostModel, maxConcurrency: Int = 16, sleepAfterMs: Int64? = nil,
                coldStartMs: Int64 = 0, origin: Origin = .prices, source: String? = nil, asOf: String? = nil,
                notes: String? = nil) {
        self.name = name
        self.cost = cost
        self.maxConcurrency = max(1, maxConcurrency)
        self.sleepAfterMs = sleepAfterMs.map { max(0, $0) }
        self.coldStartMs = max(0, coldStartMs)
        self.origin = origin
        self.source = source
        self.asOf = asOf
        self.notes = notes
    }
}
