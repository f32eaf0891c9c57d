// SPDX-License-Identifier: Apache-2.0
public import TollgateCore

/// Requests, GPU time and attributed cost of a set of usage rows: the totals line, or one group.
public struct ReportFigures: Sendable, Equatable {
    /// The group's name (`--by` value); nil for the totals, and for rows whose user, model or
    /// backend is NULL (unauthenticated, or no backend reached).
    public var key: String?
    public var requests: Int64
    /// Requests that did not end well: status ≥ 400, or an error after a good head (a client
    /// that left mid-stream) — what `usage_daily.errors` counts.
    public var errors: Int64
    public var gpu: MilliGPUSeconds
    public var cost: MicroDollars

    public init(key: String? = nil, requests: Int64 = 0, errors: Int64 = 0, gpu: MilliGPUSeconds = .zero,
                cost: MicroDollars = .zero) {
        self.key = key
        self.requests = requests
        self.errors = errors
        self.gpu = gpu
        self.cost = cost
    }
}
