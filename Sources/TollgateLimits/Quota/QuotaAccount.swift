// SPDX-License-Identifier: Apache-2.0
// What a quota ledger keeps a balance for (SPEC §4): each user's GPU-seconds per day and dollars
// per month, the gateway's dollars per month (`budgets.usd_per_month`) and each backend's
// dollars per month (`backends.*.budget_usd_per_month`). Keyed by names, not plan indices, so a
// balance survives a reload that reorders the config.

public enum QuotaAccount: Sendable, Hashable {
    /// Milli-GPU-seconds per calendar day.
    case userGPU(String)
    /// Micro-dollars per calendar month.
    case userSpend(String)
    /// Micro-dollars per calendar month, the whole gateway.
    case gateway
    /// Micro-dollars per calendar month spent on one backend.
    case backend(String)

    public var span: QuotaSpan {
        switch self {
        case .userGPU: return .day
        case .userSpend, .gateway, .backend: return .month
        }
    }

    /// The config key this balance enforces (metrics label, error messages).
    public var limitName: String {
        switch self {
        case .userGPU: return "gpu_seconds_per_day"
        case .userSpend: return "usd_per_month"
        case .gateway: return "budgets.usd_per_month"
        case .backend: return "budget_usd_per_month"
        }
    }
}

/// An amount against one account: milli-GPU-seconds for `.userGPU`, micro-dollars otherwise.
public struct QuotaCharge: Sendable, Equatable {
    public var account: QuotaAccount
    public var amount: Int64

    public init(_ account: QuotaAccount, _ amount: Int64) {
        self.account = account
        self.amount = amount
    }

    /// The charges one request makes: its user's two balances, the gateway's and its backend's.
    /// Negative figures (never produced by the cost model, but the types allow them) count as 0.
    public static func request(user: String, backend: String, milliGPUSeconds: Int64, microDollars: Int64) -> [QuotaCharge] {
        let gpu = max(0, milliGPUSeconds)
        let dollars = max(0, microDollars)
        return [QuotaCharge(.userGPU(user), gpu), QuotaCharge(.userSpend(user), dollars),
                QuotaCharge(.gateway, dollars), QuotaCharge(.backend(backend), dollars)]
    }
}

/// Why a lease or an extension was refused: the first account that could not cover it.
public struct QuotaRefusal: Error, Sendable, Equatable {
    public var account: QuotaAccount
    /// What the account still had (never negative).
    public var remaining: Int64
    /// Unix seconds when the account's period ends and it fills up again.
    public var resetsAt: Int64

    public init(account: QuotaAccount, remaining: Int64, resetsAt: Int64) {
        self.account = account
        self.remaining = remaining
        self.resetsAt = resetsAt
    }
}
