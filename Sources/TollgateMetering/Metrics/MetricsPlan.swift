// SPDX-License-Identifier: Apache-2.0
// The running plan as the metrics see it: which names may become label values, whether users
// label the spend series, each backend's price, health and budget. Built once per plan (and
// again on reload) by the gateway; immutable and shared by every loop.
//
// The label guard is here: a model, backend or user the plan does not name becomes "", so a
// client that sends a million invented model names adds no series (Prometheus' own advice:
// label values must come from a bounded set,
// https://prometheus.io/docs/practices/naming/#labels).

public import TollgateCore

public final class MetricsPlan: Sendable {
    /// A configured backend, for the backend-labelled series.
    public struct Backend: Sendable {
        public var name: String
        public var costModel: CostModel
        /// `budget_usd_per_month`, nil when not configured.
        public var monthBudget: MicroDollars?

        public init(name: String, costModel: CostModel, monthBudget: MicroDollars? = nil) {
            self.name = name
            self.costModel = costModel
            self.monthBudget = monthBudget
        }

        /// Paid by the hour whether used or not.
        public var isAlwaysOn: Bool {
            if case .alwaysOn = costModel { return true }
            return false
        }
    }

    /// In config order (the order of their series).
    public let backends: [Backend]
    /// `metrics.user_label`.
    public let userLabel: Bool
    /// `budgets.usd_per_month`, nil when not configured.
    public let monthBudget: MicroDollars?
    /// The configured model names, in config order.
    public let modelNames: [String]
    private let models: Set<String>
    private let users: Set<String>
    private let backendNames: Set<String>

    public init(backends: [Backend] = [], models: [String] = [], users: [String] = [], userLabel: Bool = true,
                monthBudget: MicroDollars? = nil) {
        self.backends = backends
        self.modelNames = models
        self.models = Set(models)
        self.users = Set(users)
        self.backendNames = Set(backends.map(\.name))
        self.userLabel = userLabel
        self.monthBudget = monthBudget
    }

    /// A model name as a label value: itself when configured, else "".
    @inline(__always)
    public func model(_ name: String?) -> String {
        guard let name, models.contains(name) else { return "" }
        return name
    }

    @inline(__always)
    public func backend(_ name: String?) -> String {
        guard let name, backendNames.contains(name) else { return "" }
        return name
    }

    /// "" also for every user when `metrics.user_label` is false (the label is left out).
    @inline(__always)
    public func user(_ name: String?) -> String {
        guard userLabel, let name, users.contains(name) else { return "" }
        return name
    }
}
