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
    /// `expected_run` in milliseconds: what a request leases before it runs (SPEC §4).
    public var expectedRunMs: Int64

    public init(name: String, kind: any TollgateBackends.BackendKind, upstreamModel: String?, firstByteTimeoutNs: UInt64,
                costModel: CostModel, billColdStart: Bool = false, monthBudget: MicroDollars? = nil,
                expectedRunMs: Int64 = 1_000) {
        self.expectedRunMs = max(0, expectedRunMs)
        self.billColdStart = billColdStart
        self.name = name
        self.kind = kind
        self.upstreamModel = upstreamModel
        self.firstByteTimeoutNs = firstByteTimeoutNs
        self.costModel = costModel
        self.monthBudget = monthBudget
    }
}

public struct ModelPlan: Sendable {
    public var name: String
    public var task: ModelTask
    /// Indices into `GatewayPlan.backends`, in config order.
    public var backends: [Int]
    public var attempts: Int

    public init(name: String, task: ModelTask, backends: [Int], attempts: Int) {
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
    /// Backends skipped until a stated time (quota exhausted), shared by every loop.
    let cooldowns: BackendCooldowns
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
                quotaPeriods: QuotaPeriods = .utc) {
        self.quotaPeriods = quotaPeriods
        metricsProtected = metrics.protected
        metricsPlan = MetricsPlan(
            backends: backends.map {
                MetricsPlan.Backend(name: $0.name, costModel: $0.costModel, monthBudget: $0.monthBudget)
            },
            models: models.map(\.name), users: users.map(\.name), userLabel: metrics.userLabel, monthBudget: monthBudget)
        self.cooldowns = BackendCooldowns(backendCount: backends.count)
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

    /// The backends no request may go to at `now` (loop clock): cooled down for quota or a
    /// stated reset. `tollgate_backend_up` is 0 for them (SPEC §4).
    func ineligibleBackends(now: UInt64) -> Set<String> {
        var names: Set<String> = []
        for (index, backend) in backends.enumerated() where cooldowns.entry(index, now: now) != nil {
            names.insert(backend.name)
        }
        return names
    }

    /// The user a bearer key belongs to (SPEC §7).
    public func authenticate(key: String) -> Caller? { keyTable.authenticate(key: key) }
}
