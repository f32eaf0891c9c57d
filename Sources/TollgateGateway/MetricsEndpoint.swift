// SPDX-License-Identifier: Apache-2.0
// GET /metrics: every loop is asked for a snapshot of its histograms and in-flight counts on its
// own thread (`loop.execute`, through PerLoop), the answers come back to the loop that serves
// the scrape, and once all have answered they are merged with the counters that sum the usage
// log — the start-up seeds plus what the writer has committed since (CommittedUsage) — and
// written out in Prometheus' text format. The request path never takes a lock for this: the
// cost of a scrape is one task per loop and a copy-on-write of its dictionaries.
import CLinux
import TollgateHTTP
import TollgateIO
import TollgateMetering
import TollgateLimits
import TollgateCore

final class MetricsEndpoint: Sendable {
    private let contexts: PerLoop<GatewayLoopContext>
    private let loopCount: Int
    /// The usage log's sums at start-up (SPEC §6: a restart does not zero the counters).
    private let seed: MetricsSeed
    /// Uptime of always-on backends in this run.
    let uptime: BackendUptimeLedger
    /// `tollgate_usage_dropped_total`: the writer's count, asked at each scrape.
    private let usageDropped: @Sendable () -> Int
    /// What the writer committed since start-up (requests, spend, month costs).
    private let committed: @Sendable () -> MetricsSnapshot
    /// `tollgate_rate_limited_total`: the rate limiter's refusals, asked at each scrape.
    private let rateLimited: @Sendable () -> [(user: String, limit: RateLimitName, count: Int)]
    /// Unix milliseconds (tests may pass another clock).
    private let wallClockMs: @Sendable () -> Int64
    /// The quota ledger's capped balances at the scrape.
    private let quotaRows: @Sendable () -> [QuotaLedger.Row]

    init(contexts: PerLoop<GatewayLoopContext>, loopCount: Int, seed: MetricsSeed, uptime: BackendUptimeLedger,
         usageDropped: @escaping @Sendable () -> Int,
         committed: @escaping @Sendable () -> MetricsSnapshot,
         rateLimited: @escaping @Sendable () -> [(user: String, limit: RateLimitName, count: Int)] = { [] },
         wallClockMs: @escaping @Sendable () -> Int64 = { Int64(tg_realtime_ns() / 1_000_000) },
         quotaRows: @escaping @Sendable () -> [QuotaLedger.Row] = { [] }) {
        self.quotaRows = quotaRows
        self.contexts = contexts
        self.loopCount = loopCount
        self.seed = seed
        self.uptime = uptime
        self.usageDropped = usageDropped
        self.committed = committed
        self.rateLimited = rateLimited
        self.wallClockMs = wallClockMs
    }

    /// Gathers every loop's counts, then answers `exchange` (on its loop) unless it ended
    /// meanwhile (the client went away).
    func scrape(_ exchange: HTTPExchange, plan: GatewayPlan) {
        let now = exchange.loop.now
        let gathering = ScrapeGathering(exchange: exchange, plan: plan.metricsPlan, ineligible: plan.ineligibleBackends(now: now),
                                        lifecycles: plan.backendLifecycles(now: now), expected: loopCount, endpoint: self)
        let reply = LoopBound(gathering)
        let loop = exchange.loop
        // Every loop's context is set in the same task that creates its responder, queued
        // before any listener accepts, so each loop answers exactly once.
        contexts.forEach { context in
            let snapshot = context.metrics.snapshot()
            loop.execute { reply.value.add(snapshot) }
        }
    }

    /// The exposition of every loop's merged `counts` with the seeds and the committed sums,
    /// at the current time.
    func render(_ counts: MetricsSnapshot, plan: MetricsPlan, ineligible: Set<String> = [],
                lifecycles: [String: MetricsExposition.BackendLifecycle] = [:]) -> String {
        var merged = seed.counts
        merged.merge(committed())
        merged.merge(counts)
        let now = wallClockMs()
        let month = UTCMonth(containing: now)
        var (total, inMonth) = uptime.costs(nowMs: now, month: month)
        total.merge(seed.uptimeTotal, uniquingKeysWith: +)
        if seed.uptimeMonthOf == month { inMonth.merge(seed.uptimeMonth, uniquingKeysWith: +) }
        // A paused always-on backend is not billed (a paused Space, a stopped pod): what its
        // pauses saved comes off its uptime (this run's pauses, as the ledger's uptime is).
        for (name, lifecycle) in lifecycles where lifecycle.idleSaved.value > 0 {
            if let billed = total[name] { total[name] = MicroDollars(max(0, billed.value - lifecycle.idleSaved.value)) }
            if let billed = inMonth[name] { inMonth[name] = MicroDollars(max(0, billed.value - lifecycle.idleSaved.value)) }
        }
        var exposition = MetricsExposition(plan: plan, counts: merged, uptimeTotal: total, uptimeMonth: inMonth,
                                           usageDropped: usageDropped(), nowMs: now, ineligibleBackends: ineligible)
        exposition.rateLimited = rateLimited().map { (user: $0.user, limit: $0.limit.rawValue, count: $0.count) }
        exposition.quotaRemaining = quotaRows().compactMap(Self.remaining)
        exposition.backendLifecycle = lifecycles
        return exposition.render()
    }

    /// A user's balance as `tollgate_quota_remaining` gives it; nil for the gateway's and the
    /// backends' budgets (they have their own month gauges).
    static func remaining(_ row: QuotaLedger.Row) -> MetricsExposition.QuotaRemaining? {
        switch row.account {
        case .userGPU(let user):
            return .init(user: user, limit: row.account.limitName, value: MilliGPUSeconds(row.remaining).secondsText)
        case .userSpend(let user):
            return .init(user: user, limit: row.account.limitName, value: MicroDollars(row.remaining).description)
        case .gateway, .backend:
            return nil
        }
    }
}

/// One scrape waiting for its loops' answers. Confined to the scrape's loop: every `add` runs
/// there (each answer is a task executed on it).
private final class ScrapeGathering {
    private let exchange: HTTPExchange
    private let plan: MetricsPlan
    private let ineligible: Set<String>
    private let lifecycles: [String: MetricsExposition.BackendLifecycle]
    private let endpoint: MetricsEndpoint
    private var pending: Int
    private var merged = MetricsSnapshot()

    init(exchange: HTTPExchange, plan: MetricsPlan, ineligible: Set<String>,
         lifecycles: [String: MetricsExposition.BackendLifecycle], expected: Int, endpoint: MetricsEndpoint) {
        self.lifecycles = lifecycles
        self.exchange = exchange
        self.plan = plan
        self.ineligible = ineligible
        self.endpoint = endpoint
        self.pending = expected
    }

    func add(_ snapshot: MetricsSnapshot) {
        merged.merge(snapshot)
        pending -= 1
        guard pending == 0, !exchange.isFinished else { return }
        exchange.respond(status: 200, contentType: PrometheusTextWriter.contentType,
                         body: endpoint.render(merged, plan: plan, ineligible: ineligible, lifecycles: lifecycles))
    }
}

/// A loop-confined object carried through another loop's task and back: only the loop that
/// made it ever touches `value` (swift-nio's NIOLoopBound, unchecked here).
private struct LoopBound<Value: AnyObject>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
