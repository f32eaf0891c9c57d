// SPDX-License-Identifier: Apache-2.0

/// One entry of `users:`.
public struct UserConfig: Sendable, Equatable {
    public let name: String
    /// At least one; every key is unique across all users.
    public let keys: [ClientKey]
    /// A name from `groups:`, or nil.
    public let group: String?
    /// Model names this user may call, in config order; `*` allows every model.
    public let models: [String]
    /// As written for this user (not merged); see `GatewayConfig.limits(for:)`.
    public let limits: LimitsConfig
    /// Line of the user's name in the file (0 when built in code).
    public let line: Int

    public init(name: String, keys: [ClientKey], group: String? = nil, models: [String] = ["*"],
                limits: LimitsConfig = .init(), line: Int = 0) {
        self.name = name
        self.keys = keys
        self.group = group
        self.models = models
        self.limits = limits
        self.line = line
    }

    public var allowsAllModels: Bool { models.contains("*") }

    /// Whether this user may call `model` (403 otherwise).
    public func mayUse(model: String) -> Bool {
        allowsAllModels || models.contains(model)
    }
}
