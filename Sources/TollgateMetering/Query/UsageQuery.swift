// SPDX-License-Identifier: Apache-2.0
// What the usage API asks the usage log (UsageReader), and what it gets back: sums of the daily
// rollups over whole UTC days (UsagePeriod), per model for a caller, per user and model for an
// admin. Figures stay integers (milli-GPU-seconds, micro-dollars) until they are written out.
public import TollgateCore

public enum UsageQuery: Sendable, Equatable {
    /// `GET /v1/usage`: one user's usage on `today` and from `monthStart` through `today`.
    case caller(user: String, today: String, monthStart: String)
    /// `GET /admin/usage`: every user's (or one user's) usage from `fromDay` through `toDay`.
    case report(user: String?, fromDay: String, toDay: String)
}

/// Sums over some rollup rows.
public struct UsageFigures: Sendable, Equatable {
    public var requests: Int64 = 0
    public var errors: Int64 = 0
    public var gpu = MilliGPUSeconds.zero
    public var cost = MicroDollars.zero
    public var promptTokens: Int64 = 0
    public var completionTokens: Int64 = 0

    public init() {}

    public init(requests: Int64, errors: Int64, gpu: MilliGPUSeconds, cost: MicroDollars, promptTokens: Int64,
                completionTokens: Int64) {
        self.requests = requests
        self.errors = errors
        self.gpu = gpu
        self.cost = cost
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    /// Saturating, like the units it adds.
    public static func += (a: inout UsageFigures, b: UsageFigures) {
        a.requests = a.requests.addingReportingOverflow(b.requests).overflow ? .max : a.requests + b.requests
        a.errors = a.errors.addingReportingOverflow(b.errors).overflow ? .max : a.errors + b.errors
        a.gpu += b.gpu
        a.cost += b.cost
        a.promptTokens = a.promptTokens.addingReportingOverflow(b.promptTokens).overflow ? .max : a.promptTokens + b.promptTokens
        a.completionTokens = a.completionTokens.addingReportingOverflow(b.completionTokens).overflow
            ? .max : a.completionTokens + b.completionTokens
    }
}

/// One group of a query's answer. `user` and `model` are nil where the request had none
/// (an unauthenticated request; one refused before its model was known).
public struct UsageRow: Sendable, Equatable {
    public var user: String?
    public var model: String?
    public var figures: UsageFigures

    public init(user: String?, model: String?, figures: UsageFigures) {
        self.user = user
        self.model = model
        self.figures = figures
    }
}

public enum UsageAnswer: Sendable, Equatable {
    /// Per model, ordered by model: today's and this month's.
    case caller(today: [UsageRow], month: [UsageRow])
    /// Per user and model, ordered by user then model.
    case report([UsageRow])
}

/// Why a query got no answer.
public enum UsageReadError: Error, Equatable {
    /// The usage database could not be opened or read (its SQLite error).
    case unavailable(String)
}
