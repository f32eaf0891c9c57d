// SPDX-License-Identifier: Apache-2.0
// The counts of one loop (or of the seeds read from the usage log) at one moment, as a value:
// a loop hands a copy to the scrape, which merges every loop's on its own thread. Plain
// dictionaries of integers — copy-on-write makes the hand-over O(1) for the loop.

public import TollgateCore

public struct MetricsSnapshot: Sendable {
    public var requests: [RequestSeries: Int64] = [:]
    public var spend: [SpendSeries: SpendTotals] = [:]
    /// `tollgate_request_duration_seconds` by model.
    public var duration: [String: LatencyHistogram] = [:]
    /// `tollgate_upstream_ttfb_seconds` by backend.
    public var ttfb: [String: LatencyHistogram] = [:]
    /// Attempts in flight by backend.
    public var inflight: [String: Int] = [:]
    /// The UTC month `monthCost` belongs to, nil before anything was counted in one.
    public var month: UTCMonth?
    /// Σ cost of this month's requests by backend ("" for none or one no longer configured).
    public var monthCost: [String: MicroDollars] = [:]

    public init() {}

    /// Adds `other`'s counts. Month figures add up only for the same month: the seeds (or a
    /// committed batch) may still hold last month's, which the newer month replaces.
    public mutating func merge(_ other: MetricsSnapshot) {
        requests.merge(other.requests, uniquingKeysWith: &+)
        spend.merge(other.spend) { var a = $0; a += $1; return a }
        duration.merge(other.duration) { var a = $0; a.merge($1); return a }
        ttfb.merge(other.ttfb) { var a = $0; a.merge($1); return a }
        inflight.merge(other.inflight, uniquingKeysWith: &+)
        mergeMonth(other.month, other.monthCost)
    }

    /// Adds the sums of `usage_daily` rows of one key (the seeds read them, the writer adds what
    /// it commits): the requests by status, and — only for rows that reached a backend, so a
    /// 401 adds no series — their GPU time and cost.
    public mutating func addRollup(user: String, model: String, backend: String, status: Int,
                                   requests count: Int64, gpu: MilliGPUSeconds, cost: MicroDollars) {
        requests[RequestSeries(model: model, backend: backend, user: user, code: status), default: 0] &+= count
        guard !backend.isEmpty else { return }
        spend[SpendSeries(model: model, backend: backend, user: user), default: SpendTotals()] += SpendTotals(gpu: gpu, cost: cost)
    }

    /// Adds one month's costs by backend (see `merge`).
    public mutating func mergeMonth(_ otherMonth: UTCMonth?, _ costs: [String: MicroDollars]) {
        guard let otherMonth else { return }
        if let month, otherMonth < month { return }
        if month != otherMonth {
            month = otherMonth
            monthCost = [:]
        }
        monthCost.merge(costs, uniquingKeysWith: +)
    }

    /// The month figures as of `month`: empty when they belong to an earlier one.
    public func monthCosts(in month: UTCMonth) -> [String: MicroDollars] {
        self.month == month ? monthCost : [:]
    }

    /// The same counts with every name passed through `plan`'s guard again: series of a name
    /// a reload removed fold into "", and users into "" when the plan has no user label.
    public func relabeled(by plan: MetricsPlan) -> MetricsSnapshot {
        var result = MetricsSnapshot()
        for (key, value) in requests {
            let series = RequestSeries(model: plan.model(key.model), backend: plan.backend(key.backend),
                                       user: plan.user(key.user), code: key.code)
            result.requests[series, default: 0] &+= value
        }
        for (key, value) in spend {
            let series = SpendSeries(model: plan.model(key.model), backend: plan.backend(key.backend), user: plan.user(key.user))
            result.spend[series, default: SpendTotals()] += value
        }
        for (key, value) in duration { result.duration[plan.model(key), default: LatencyHistogram()].merge(value) }
        for (key, value) in ttfb { result.ttfb[plan.backend(key), default: LatencyHistogram()].merge(value) }
        for (key, value) in inflight { result.inflight[plan.backend(key), default: 0] &+= value }
        var costs: [String: MicroDollars] = [:]
        for (key, value) in monthCost { costs[plan.backend(key), default: .zero] += value }
        result.mergeMonth(month, costs)
        return result
    }
}
