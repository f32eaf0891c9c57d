// SPDX-License-Identifier: Apache-2.0
// What one configured user may do. Rate limits and quotas (SPEC §3 `users:`) join the model
// allow-list here with the limits issue.

public struct UserPlan: Sendable {
    public var name: String
    /// nil = every model.
    public var allowedModels: Set<String>?
    /// A GPU-seconds-per-day or dollars-per-month limit applies (after inheritance): while the
    /// usage log cannot be written, such a user is refused (SPEC §4, fail closed).
    public var hasQuota: Bool
    /// `requests_per_minute` and `concurrent` after inheritance (RateLimiter).
    public var rateLimits: RateLimits

    public init(name: String, allowedModels: Set<String>?, hasQuota: Bool = false, rateLimits: RateLimits = .unlimited) {
        self.name = name
        self.allowedModels = allowedModels
        self.hasQuota = hasQuota
        self.rateLimits = rateLimits
    }

    public func mayUse(_ model: String) -> Bool { allowedModels?.contains(model) ?? true }
}
