// SPDX-License-Identifier: Apache-2.0
// Every series of SPEC §6 and the metering contract, written from one merged snapshot (all
// loops plus the seeds), the running plan and the uptime so far. The derived figures live here:
// what each backend bills (always-on: uptime × price; per-use: the requests' cost) against
// what the requests were attributed, the month gauges and the forecast.

public import TollgateCore

public struct MetricsExposition {
    public var plan: MetricsPlan
    /// Every loop's counts merged with the seeds, not yet relabeled.
    public var counts: MetricsSnapshot
    /// Uptime cost per always-on backend, all time (seeds and this run).
    public var uptimeTotal: [String: MicroDollars]
    /// …within the month of `nowMs`.
    public var uptimeMonth: [String: MicroDollars]
    /// `tollgate_usage_dropped_total`.
    public var usageDropped: Int
    /// The wall clock, unix milliseconds.
    public var nowMs: Int64
    /// Backends not eligible at the scrape (SPEC §4: cooled down for quota, …):
    /// `tollgate_backend_up` 0.
    public var ineligibleBackends: Set<String>
    /// `tollgate_rate_limited_total`: requests refused by a rate limit, by user and limit.
    public var rateLimited: [(user: String, limit: String, count: Int)] = []
    /// `tollgate_quota_remaining`: per user and limit (`gpu_seconds_per_day` in seconds,
    /// `usd_per_month` in dollars), as the quota ledger has them at the scrape.
    public var quotaRemaining: [QuotaRemaining] = []
    /// Idle pause and wake counts per backend with an `idle` policy (issue 12): the
    /// `tollgate_backend_pauses_total`, `_wakes_total` and `_idle_saved_usd_total` series. A
    /// backend absent here (no policy) has none of them.
    public var backendLifecycle: [String: BackendLifecycle] = [:]

    public struct QuotaRemaining: Sendable, Equatable {
        public var user: String
        public var limit: String
        /// Already in the unit of the limit (FixedPointText).
        public var value: String

        public init(user: String, limit: String, value: String) {
            self.user = user
            self.limit = limit
            self.value = value
        }
    }

    /// One backend's idle lifecycle so far (this run; the gateway does not keep them across runs).
    public struct BackendLifecycle: Sendable, Equatable {
        public var pauses: Int
        public var wakes: Int
        /// What the pauses saved: what the backend would have billed while paused.
        public var idleSaved: MicroDollars

        public init(pauses: Int, wakes: Int, idleSaved: MicroDollars) {
            self.pauses = pauses
            self.wakes = wakes
            self.idleSaved = idleSaved
        }
    }

    public init(plan: MetricsPlan, counts: MetricsSnapshot, uptimeTotal: [String: MicroDollars] = [:],
                uptimeMonth: [String: MicroDollars] = [:], usageDropped: Int = 0, nowMs: Int64,
                ineligibleBackends: Set<String> = []) {
        self.ineligibleBackends = ineligibleBackends
        self.plan = plan
        self.counts = counts
        self.uptimeTotal = uptimeTotal
        self.uptimeMonth = uptimeMonth
        self.usageDropped = usageDropped
        self.nowMs = nowMs
    }

    /// The month figures, derived (also for tests of the arithmetic).
    public struct MonthFigures: Equatable {
        /// Σ cost of this month's requests (attributed).
        public var spend: MicroDollars = .zero
        /// What providers bill this month: per-use costs and always-on uptime.
        public var billed: MicroDollars = .zero
        /// Per backend: its billed figure (the one its budget compares with).
        public var byBackend: [String: MicroDollars] = [:]
        public var forecast: MicroDollars = .zero
    }

    public func monthFigures(_ relabeled: MetricsSnapshot) -> MonthFigures {
        let month = UTCMonth(containing: nowMs)
        let costs = relabeled.monthCosts(in: month)
        var figures = MonthFigures()
        figures.spend = costs.values.reduce(.zero, +)
        var alwaysOnBilled = MicroDollars.zero
        var alwaysOnPrices: [MicroDollars] = []
        var perUse = MicroDollars.zero
        var configured: Set<String> = []
        for backend in plan.backends {
            configured.insert(backend.name)
            if case .alwaysOn(let perHour) = backend.costModel {
                let billed = uptimeMonth[backend.name] ?? .zero
                figures.byBackend[backend.name] = billed
                alwaysOnBilled += billed
                alwaysOnPrices.append(perHour)
            } else {
                let billed = costs[backend.name] ?? .zero
                figures.byBackend[backend.name] = billed
                perUse += billed
            }
        }
        // A backend no longer configured (its requests' cost now under "") was paid per use.
        for (backend, cost) in costs where !configured.contains(backend) { perUse += cost }
        figures.billed = alwaysOnBilled + perUse
        figures.forecast = SpendForecast.month(month, nowMs: nowMs, billedToDate: figures.billed, perUseToDate: perUse,
                                               alwaysOnPerHour: alwaysOnPrices)
        return figures
    }

    public func render() -> String {
        var out = PrometheusTextWriter()
        write(into: &out)
        return out.text
    }

    public func write(into out: inout PrometheusTextWriter) {
        let counts = self.counts.relabeled(by: plan)
        let userLabel = plan.userLabel

        out.family("tollgate_requests_total", .counter, help: "Client requests by model, backend reached, user and status sent.")
        for (key, value) in counts.requests.sorted(by: { Self.order($0.key, $1.key) }) {
            var labels = [(key: "model", value: key.model), (key: "backend", value: key.backend)]
            if userLabel { labels.append((key: "user", value: key.user)) }
            labels.append((key: "code", value: String(key.code)))
            out.sample("tollgate_requests_total", labels: labels, String(value))
        }

        let spend = counts.spend.sorted { Self.order($0.key, $1.key) }
        out.family("tollgate_gpu_seconds_total", .counter, help: "GPU-seconds used by requests (the backend's figure where it reports one).")
        for (key, value) in spend {
            out.sample("tollgate_gpu_seconds_total", labels: labels(key, userLabel),
                       FixedPointText.format(value.gpu.value, places: 3, trimmingZeros: true))
        }
        out.family("tollgate_spend_usd_total", .counter, help: "Dollars attributed to requests on their backend's price.")
        for (key, value) in spend {
            out.sample("tollgate_spend_usd_total", labels: labels(key, userLabel), Self.dollars(value.cost))
        }

        var attributed: [String: MicroDollars] = [:]
        for (key, value) in counts.spend { attributed[key.backend, default: .zero] += value.cost }
        out.family("tollgate_backend_billed_usd_total", .counter,
                   help: "What the provider bills: per-use backends their requests' cost, always-on backends uptime × hourly price (idle included).")
        for backend in plan.backends {
            let billed = backend.isAlwaysOn ? uptimeTotal[backend.name] ?? .zero : attributed[backend.name] ?? .zero
            out.sample("tollgate_backend_billed_usd_total", ["backend": backend.name], Self.dollars(billed))
        }
        out.family("tollgate_backend_attributed_usd_total", .counter,
                   help: "Dollars attributed to requests on this backend (billed - attributed = idle waste).")
        for backend in plan.backends {
            out.sample("tollgate_backend_attributed_usd_total", ["backend": backend.name], Self.dollars(attributed[backend.name] ?? .zero))
        }

        out.family("tollgate_request_duration_seconds", .histogram, help: "Time from the request head to the end of the response, by model.")
        for (model, histogram) in counts.duration.sorted(by: { $0.key < $1.key }) {
            out.histogram("tollgate_request_duration_seconds", labels: [(key: "model", value: model)], histogram)
        }
        out.family("tollgate_upstream_ttfb_seconds", .histogram,
                   help: "Time from an upstream attempt's start to the backend's first response byte, by backend.")
        for (backend, histogram) in counts.ttfb.sorted(by: { $0.key < $1.key }) {
            out.histogram("tollgate_upstream_ttfb_seconds", labels: [(key: "backend", value: backend)], histogram)
        }

        out.family("tollgate_backend_up", .gauge, help: "1 when the backend can take requests, else 0.")
        for backend in plan.backends {
            out.sample("tollgate_backend_up", ["backend": backend.name], ineligibleBackends.contains(backend.name) ? "0" : "1")
        }
        out.family("tollgate_backend_inflight", .gauge, help: "Upstream attempts in flight on the backend.")
        for backend in plan.backends {
            out.sample("tollgate_backend_inflight", ["backend": backend.name], String(max(counts.inflight[backend.name] ?? 0, 0)))
        }

        // Idle pause and wake (issue 12): declared always, samples only for the configured
        // backends that have an idle policy, in config order.
        let idle = plan.backends.compactMap { backend in backendLifecycle[backend.name].map { (backend.name, $0) } }
        out.family("tollgate_backend_pauses_total", .counter, help: "Times the idle action paused the backend.")
        for (name, lifecycle) in idle {
            out.sample("tollgate_backend_pauses_total", ["backend": name], String(max(lifecycle.pauses, 0)))
        }
        out.family("tollgate_backend_wakes_total", .counter, help: "Times a paused backend was woken (by a wake call or a request).")
        for (name, lifecycle) in idle {
            out.sample("tollgate_backend_wakes_total", ["backend": name], String(max(lifecycle.wakes, 0)))
        }
        out.family("tollgate_backend_idle_saved_usd_total", .counter,
                   help: "Dollars the idle pauses saved: what the backend would have billed while it was paused.")
        for (name, lifecycle) in idle {
            out.sample("tollgate_backend_idle_saved_usd_total", ["backend": name],
                       Self.dollars(MicroDollars(max(lifecycle.idleSaved.value, 0))))
        }

        // Limits and quotas arrive with issue 11: the families are declared so dashboards and
        // alerts can name them, their samples come with the limiter.
        out.family("tollgate_rate_limited_total", .counter, help: "Requests refused by a limit (429), by user and limit.")
        writeRateLimited(into: &out, userLabel: userLabel)
        out.family("tollgate_quota_remaining", .gauge, help: "What is left of a user's quota in its current period, by limit.")
        // Per user by its nature: without the user label (metrics.user_label: false) there is
        // no series to give.
        if plan.userLabel {
            for row in quotaRemaining.sorted(by: { ($0.user, $0.limit) < ($1.user, $1.limit) }) {
                out.sample("tollgate_quota_remaining", ["user": row.user, "limit": row.limit], row.value)
            }
        }

        let month = monthFigures(counts)
        out.family("tollgate_spend_forecast_usd", .gauge,
                   help: "This UTC month's bill at its end: billed so far + always-on hours left + per-use spend extrapolated.")
        out.sample("tollgate_spend_forecast_usd", ["period": "month"], Self.dollars(month.forecast))
        out.family("tollgate_usage_dropped_total", .counter, help: "Usage rows the SQLite writer could not store.")
        out.sample("tollgate_usage_dropped_total", String(max(usageDropped, 0)))

        out.family("tollgate_spend_month_usd", .gauge, help: "Dollars attributed to this UTC month's requests.")
        out.sample("tollgate_spend_month_usd", Self.dollars(month.spend))
        out.family("tollgate_billed_month_usd", .gauge,
                   help: "What providers bill this UTC month (per-use costs + always-on uptime), the figure budgets compare with.")
        out.sample("tollgate_billed_month_usd", Self.dollars(month.billed))
        if let budget = plan.monthBudget {
            out.family("tollgate_budget_month_usd", .gauge, help: "budgets.usd_per_month.")
            out.sample("tollgate_budget_month_usd", Self.dollars(budget))
        }
        let budgeted = plan.backends.filter { $0.monthBudget != nil }
        if !budgeted.isEmpty {
            out.family("tollgate_backend_budget_month_usd", .gauge, help: "The backend's budget_usd_per_month.")
            for backend in budgeted {
                out.sample("tollgate_backend_budget_month_usd", ["backend": backend.name], Self.dollars(backend.monthBudget ?? .zero))
            }
        }
        out.family("tollgate_backend_spend_month_usd", .gauge,
                   help: "What the backend bills this UTC month (per-use: its requests' cost; always-on: uptime), the figure its budget compares with.")
        for backend in plan.backends {
            out.sample("tollgate_backend_spend_month_usd", ["backend": backend.name], Self.dollars(month.byBackend[backend.name] ?? .zero))
        }
    }

    /// Without the user label (`metrics.user_label: false`) the users' counts add up per limit.
    private func writeRateLimited(into out: inout PrometheusTextWriter, userLabel: Bool) {
        var merged: [String: [String: Int]] = [:]
        for entry in rateLimited {
            merged[plan.user(entry.user), default: [:]][entry.limit, default: 0] += entry.count
        }
        for user in merged.keys.sorted() {
            for (limit, count) in merged[user, default: [:]].sorted(by: { $0.key < $1.key }) {
                var labels: [(key: String, value: String)] = []
                if userLabel { labels.append((key: "user", value: user)) }
                labels.append((key: "limit", value: limit))
                out.sample("tollgate_rate_limited_total", labels: labels, String(count))
            }
        }
    }

    private func labels(_ key: SpendSeries, _ userLabel: Bool) -> [(key: String, value: String)] {
        var labels = [(key: "model", value: key.model), (key: "backend", value: key.backend)]
        if userLabel { labels.append((key: "user", value: key.user)) }
        return labels
    }

    /// Micro-dollars as dollars, exact: `1234567` → `1.234567`, `190` → `0.00019`.
    static func dollars(_ amount: MicroDollars) -> String {
        FixedPointText.format(amount.value, places: 6, trimmingZeros: true)
    }

    private static func order(_ a: RequestSeries, _ b: RequestSeries) -> Bool {
        (a.model, a.backend, a.user, a.code) < (b.model, b.backend, b.user, b.code)
    }

    private static func order(_ a: SpendSeries, _ b: SpendSeries) -> Bool {
        (a.model, a.backend, a.user) < (b.model, b.backend, b.user)
    }
}
