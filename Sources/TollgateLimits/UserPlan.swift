// SPDX-License-Identifier: Apache-2.0
// What one configured user may do. Rate limits and quotas (SPEC §3 `users:`) join the model
// allow-list here with the limits issue.

public struct UserPlan: Sendable {
    public var name: String
    /// nil = every model.
    public var allowedModels: Set<String>?

    public init(name: String, allowedModels: Set<String>?) {
        self.name = name
        self.allowedModels = allowedModels
    }

    public func mayUse(_ model: String) -> Bool { allowedModels?.contains(model) ?? true }
}
