// SPDX-License-Identifier: Apache-2.0
// What one configured user may do. Rate limits and quotas (SPEC §3 `users:`) join the model
// allow-list here with the limits issue.

public struct UserPlan: Sendable {
    public var name: String
    /// nil = every model.
    public var allowedModels: Set<String>?
    /// A GPU-seconds-per-day or dollars-per-month limit applies (after inheritance): while the
    /// usage log cannot be written, such a user is refused (SPEC §4, fail closed).
    public var hasQuota: Bool { milliGPUSecondsPerDay != nil || microDollarsPerMonth != nil }
    /// `gpu_seconds_per_day` in milli-GPU-seconds, nil = unlimited.
    public var milliGPUSecondsPerDay: Int64?
    /// `usd_per_month` in micro-dollars, nil = unlimited.
    public var microDollarsPerMonth: Int64?
    /// `requests_per_minute` and `concurrent` after inheritance (RateLimiter).
    public var rateLimits: RateLimits

    public init(name: String, allowedModels: Set<String>?, milliGPUSecondsPerDay: Int64? = nil,
                microDollarsPerMonth: Int64? = nil, rateLimits: RateLimits = .unlimited) {
        self.name = name
        self.rateLimits = rateLimits
        self.allowedModels = allowedModels
        self.milliGPUSecondsPerDay = milliGPUSecondsPerDay
        self.microDollarsPerMonth = microDollarsPerMonth
    }

    /// Test and tool shorthand: a quota of some kind, or none.
    public init(name: String, allowedModels: Set<String>?, hasQuota: Bool) {
        self.init(name: name, allowedModels: allowedModels, milliGPUSecondsPerDay: hasQuota ? 1 : nil)
    }

    public func mayUse(_ model: String) -> Bool { allowedModels?.contains(model) ?? true }
}
