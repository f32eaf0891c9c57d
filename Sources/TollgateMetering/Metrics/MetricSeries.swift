// SPDX-License-Identifier: Apache-2.0
// The label sets of the counters that sum the usage log, as dictionary keys. Names are kept as
// the running plan spells them (or "" for a name it does not know: MetricsPlan guards that);
// the status stays an integer until it is written, so counting a request formats nothing.

public import TollgateCore

/// `tollgate_requests_total{model,backend,user,code}`.
public struct RequestSeries: Sendable, Hashable {
    public var model: String
    public var backend: String
    public var user: String
    public var code: Int

    public init(model: String, backend: String, user: String, code: Int) {
        self.model = model
        self.backend = backend
        self.user = user
        self.code = code
    }
}

/// `tollgate_gpu_seconds_total` and `tollgate_spend_usd_total{model,backend,user}`.
public struct SpendSeries: Sendable, Hashable {
    public var model: String
    public var backend: String
    public var user: String

    public init(model: String, backend: String, user: String) {
        self.model = model
        self.backend = backend
        self.user = user
    }
}

/// What a spend series sums: exact integers, written out from them (never a running Double).
public struct SpendTotals: Sendable, Equatable {
    public var gpu: MilliGPUSeconds = .zero
    public var cost: MicroDollars = .zero

    public init(gpu: MilliGPUSeconds = .zero, cost: MicroDollars = .zero) {
        self.gpu = gpu
        self.cost = cost
    }

    public static func += (a: inout SpendTotals, b: SpendTotals) {
        a.gpu += b.gpu
        a.cost += b.cost
    }
}
