// SPDX-License-Identifier: Apache-2.0
// The frozen, routable form of the config: what the hot path needs, in its own terms, built
// once (and again on reload) by the composition root. Immutable and shared by every loop.
public import TollgateBackends
import TollgateConfig
public import TollgateIO
public import TollgateLimits
public import TollgateCore
public import TollgateMetering

public struct BackendPlan: Sendable {
    public var name: String
    /// What the backend is (its adapter, whether it is served): the gateway never asks which.
    /// (Qualified: TollgateConfig has the config's `BackendKind` enum.)
    public var kind: any TollgateBackends.BackendKind
    /// The upstream's name for the model, when it differs from the client's.
    public var upstreamModel: String?
    public var firstByteTimeoutNs: UInt64
    /// How its use turns into money (SPEC §3 `price`/`billing`).
    public var costModel: CostModel
    /// `bill_cold_start`: the time the backend reports its call waited (queue, cold start) is
    /// priced with the run; the GPU-seconds figure stays the run alone.
    public var billColdStart: Bool
    /// `budget_usd_per_month`, nil when not configured.
    public var monthBudget: MicroDollars?
    /// `expected_run` in milliseconds: what a request leases before it runs, and the router's
    /// prior for the run until measured (SPEC §4).
    public var expectedRunMs: Int64
    /// What the router and the health checks know of the backend beyond its price.
    public var routing: BackendRouting
    /// The config's `kind` (openai, hf_space, …), as /admin/backends names it.
    public var kindName: String

    public init(name: String, kind: any TollgateBackends.BackendKind, upstreamModel: String?, firstByteTimeoutNs: UInt64,
                costModel: CostModel, billColdStart: Bool = false, monthBudget: MicroDollars? = nil,
                expectedRunMs: Int64 = 1_000, routing: BackendRouting = BackendRouting(), kindName: String = "") {
        self.kindName = kindName
        self.expectedRunMs = max(0, expectedRunMs)
        self.routing = routing
        self.billColdStart = billColdStart
        self.name = name
        self.kind = kind
        self.upstreamModel = upstreamModel
        self.firstByteTimeoutNs = firstByteTimeoutNs
        self.costModel = costModel
        self.monthBudget = monthBudget
    }
}

extension BackendPlan {
    /// What being paused for `pausedNs` saved: the uptime an always-on backend would have
    /// billed meanwhile (nothing for the kinds paid per use).
    func idleSaved(pausedNs: UInt64) -> MicroDollars {
        costModel.uptimeCost(milliseconds: BackendRuntime.milliseconds(pausedNs))
    }
}

public struct ModelPlan: Sendable {
    public var name: String
    public var task: ModelTask
    /// Indices into `GatewayPlan.backends`, in config order.
    public var backends: [Int]
    public var attempts: Int
    /// `max_latency` in ms: candidates expected to be slower are skipped (nil: none).
    public var maxLatencyMs: Int64?
    /// `queue_timeout`: how long a request waits when every candidate is full.
    public var queueTimeoutNs: UInt64

    public init(name: String, task: ModelTask, backends: [Int], attempts: Int, maxLatencyMs: Int64? = nil,
                queueTimeoutNs: UInt64 = 10_000_000_000) {
        self.maxLatencyMs = maxLatencyMs
        self.queueTimeoutNs = queueTimeoutNs
        self.name = name
        self.task = task
        self.backends = backends
        self.attempts = attempts
    }
}

public final class GatewayPlan: Sendable {
    public let backends: [BackendPlan]
    public let models: [ModelPlan]
    public let users: [UserPlan]
    /// `server.trusted_proxies`: peers whose X-Forwarded-For names the client.
    public let trustedProxies: [IPBlock]
    private let modelIndex: [String: Int]
    /// Bearer key → user (SPEC §7).
    public let keyTable: KeyTable

    /// Every configured upstream secret, cut out of upstream text the gateway relays (SPEC §7).
    public let redactor: SecretRedactor

    /// `metrics.protected`: /metrics needs the admin key.
    public let metricsProtected: Bool
    /// The plan's names, prices and budgets as /metrics labels and figures them.
    public let metricsPlan: MetricsPlan
    /// The router's live state (in flight, circuits, cool-downs, expected runs, wait lines),
    /// shared by every loop and carried over by the plans that replace this one.
    public let board: BackendBoard
    /// This plan's view of the board, indexed like `backends` and `models`.
    let routing: RoutingTables
    /// Every quota's cap (SPEC §4): users' GPU-seconds per day and dollars per month, the
    /// gateway's and each backend's dollars per month. The balances live in the Gateway's
    /// QuotaLedger, which outlives plans.
    public let quotaCaps: [QuotaAccount: Int64]
    /// `budgets.usd_per_month` is set (`quotaCaps[.gateway] != nil`), read once per plan.
    let hasGatewayBudget: Bool
    /// `defaults.timezone`'s days and months, which quotas count in. The ledger takes it at
    /// start-up; a reload that changes the zone takes effect after a restart.
    public let quotaPeriods: QuotaPeriods

    /// - Parameters:
    ///   - adminDigest: SHA-256 of `admin.key`; nil turns /admin/* off.
    ///   - metrics: `metrics.protected` and `metrics.user_label`.
    ///   - monthBudget: `budgets.usd_per_month`.
    public init(backends: [BackendPlan], models: [ModelPlan], users: [UserPlan], keys: [KeyPlan],
                adminDigest: [UInt8]? = nil, secrets: [String] = [], trustedProxies: [IPBlock] = [],
                metrics: (protected: Bool, userLabel: Bool) = (false, true), monthBudget: MicroDollars? = nil,
                quotaPeriods: QuotaPeriods = .utc, board: BackendBoard = BackendBoard()) {
        self.quotaPeriods = quotaPeriods
        metricsProtected = metrics.protected
        metricsPlan = MetricsPlan(
            backends: backends.map {
                MetricsPlan.Backend(name: $0.name, costModel: $0.costModel, monthBudget: $0.monthBudget)
            },
            models: models.map(\.name), users: users.map(\.name), userLabel: metrics.userLabel, monthBudget: monthBudget)
        self.board = board
        routing = board.bind(backends: backends, models: models)
        var caps: [QuotaAccount: Int64] = [:]
        for user in users {
            if let gpu = user.milliGPUSecondsPerDay { caps[.userGPU(user.name)] = gpu }
            if let dollars = user.microDollarsPerMonth { caps[.userSpend(user.name)] = dollars }
        }
        for backend in backends { if let budget = backend.monthBudget { caps[.backend(backend.name)] = budget.value } }
        if let monthBudget { caps[.gateway] = monthBudget.value }
        quotaCaps = caps
        hasGatewayBudget = monthBudget != nil
        self.redactor = SecretRedactor(secrets: secrets)
        self.trustedProxies = trustedProxies
        self.backends = backends
        self.models = models
        self.users = users
        self.keyTable = KeyTable(users: users, keys: keys, adminDigest: adminDigest)
        var index: [String: Int] = [:]
        for (i, m) in models.enumerated() { index[m.name] = i }
        modelIndex = index
    }

    /// The index of the model `name` in `models`.
    func modelIndex(named name: String) -> Int? { modelIndex[name] }

    public func model(named name: String) -> ModelPlan? {
        modelIndex[name].map { models[$0] }
    }

    /// The always-on backends and their hourly price: what is billed while the plan runs.
    public var alwaysOnBackends: [(name: String, perHour: MicroDollars)] {
        backends.compactMap { backend in
            guard case .alwaysOn(let perHour) = backend.costModel else { return nil }
            return (backend.name, perHour)
        }
    }

    /// The backends no request may go to at `now` (loop clock): cooled down, circuit open,
    /// probe down. `tollgate_backend_up` is 0 for them (SPEC §4).
    func ineligibleBackends(now: UInt64) -> Set<String> {
        var names: Set<String> = []
        for (index, backend) in backends.enumerated() where !routing.runtimes[index].isEligible(nowNs: now) {
            names.insert(backend.name)
        }
        return names
    }

    /// The pauses, wakes and idle savings of the backends with an idle policy, by name
    /// (`tollgate_backend_pauses_total` and its kin).
    func backendLifecycles(now: UInt64) -> [String: MetricsExposition.BackendLifecycle] {
        var out: [String: MetricsExposition.BackendLifecycle] = [:]
        for (index, backend) in backends.enumerated() where backend.routing.idle != nil {
            guard let figures = routing.runtimes[index].lifecycleFigures(nowNs: now) else { continue }
            let saved = backend.idleSaved(pausedNs: figures.pausedNs)
            out[backend.name] = .init(pauses: figures.pauses, wakes: figures.wakes, idleSaved: saved)
        }
        return out
    }

    /// Model `index`'s routing state; nil for an index the plan does not hold.
    func modelRouting(_ index: Int) -> ModelRouting? {
        routing.models.indices.contains(index) ? routing.models[index] : nil
    }

    /// The user a bearer key belongs to (SPEC §7).
    public func authenticate(key: String) -> Caller? { keyTable.authenticate(key: key) }
}
