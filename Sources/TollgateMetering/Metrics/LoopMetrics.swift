// SPDX-License-Identifier: Apache-2.0
// One loop's metrics: a usage sink that counts each finished request into plain stored
// dictionaries, and the attempts in flight. Loop-confined like everything else on the loop —
// no atomics, no locks on the request path (the scrape asks each loop for a snapshot on its
// own thread and merges them; swift-nio's per-loop state idea, Prometheus' "collect at scrape
// time" model).

import TollgateCore

public final class LoopMetrics: UsageSink {
    /// The running plan's names and prices; replaced on reload (on this loop).
    public var plan: MetricsPlan
    private var counts = MetricsSnapshot()
    /// The month `counts.monthCost` is for, as a span, so a record needs no calendar arithmetic.
    private var monthSpan: UTCMonth?

    public init(plan: MetricsPlan) {
        self.plan = plan
    }

    public func record(_ record: UsageRecord) {
        let model = plan.model(record.model)
        let backend = plan.backend(record.backend)
        let user = plan.user(record.user)
        counts.requests[RequestSeries(model: model, backend: backend, user: user, code: record.status), default: 0] &+= 1
        counts.duration[model, default: LatencyHistogram()].observe(seconds: record.latencyMs / 1000)
        // Only requests that reached a backend used or cost anything: the rest (401, 404, …)
        // would add zero series.
        guard record.backend != nil else { return }
        counts.spend[SpendSeries(model: model, backend: backend, user: user), default: SpendTotals()]
            += SpendTotals(gpu: record.gpu, cost: record.cost)
        if let ttfb = record.upstreamTTFBMs {
            counts.ttfb[backend, default: LatencyHistogram()].observe(seconds: ttfb / 1000)
        }
        addToMonth(backend: backend, cost: record.cost, at: record.timestamp)
    }

    private func addToMonth(backend: String, cost: MicroDollars, at seconds: Double) {
        let ms = UTCMonth.milliseconds(seconds)
        if let span = monthSpan, span.contains(ms) {
            counts.monthCost[backend, default: .zero] += cost
            return
        }
        let month = UTCMonth(containing: ms)
        // A request that started before the month turned, ending after another one was
        // already counted in the new month, belongs to a month whose figures are gone.
        if let span = monthSpan, month < span { return }
        monthSpan = month
        counts.month = month
        counts.monthCost = [backend: cost]
    }

    /// An upstream attempt on `backend` started (`tollgate_backend_inflight`).
    public func attemptStarted(backend: String) {
        counts.inflight[backend, default: 0] &+= 1
    }

    /// …and ended (exactly once per start).
    public func attemptEnded(backend: String) {
        counts.inflight[backend, default: 0] &-= 1
    }

    /// The counts so far (a copy; the loop goes on counting into its own).
    public func snapshot() -> MetricsSnapshot { counts }
}
