// SPDX-License-Identifier: Apache-2.0
import TollgateCore

/// A whole, validated config. Immutable; a reload builds a new one.
public struct GatewayConfig: Sendable, Equatable {
    public let server: ServerConfig
    public let storage: StorageConfig
    public let admin: AdminConfig
    public let metrics: MetricsConfig
    public let defaults: DefaultsConfig
    /// In config order.
    public let groups: [GroupConfig]
    /// In config order: ties in the router go to the earlier backend.
    public let backends: [BackendConfig]
    /// In config order (the order of GET /v1/models).
    public let models: [ModelConfig]
    /// In config order.
    public let users: [UserConfig]
    public let budgets: BudgetsConfig
    /// The file it was loaded from ("" when built in code).
    public let sourceFile: String

    private let backendIndex: [String: Int]
    private let modelIndex: [String: Int]
    private let userIndex: [String: Int]
    private let groupIndex: [String: Int]

    /// Builds a config in code (tests, tools). Names must be unique per section; the loader
    /// guarantees that and every other rule, this initializer checks nothing else.
    public init(server: ServerConfig = .default, storage: StorageConfig = .init(), admin: AdminConfig = .init(),
                metrics: MetricsConfig = .init(), defaults: DefaultsConfig = .init(), groups: [GroupConfig] = [],
                backends: [BackendConfig] = [], models: [ModelConfig] = [], users: [UserConfig] = [],
                budgets: BudgetsConfig = .init(), sourceFile: String = "") {
        self.server = server
        self.storage = storage
        self.admin = admin
        self.metrics = metrics
        self.defaults = defaults
        self.groups = groups
        self.backends = backends
        self.models = models
        self.users = users
        self.budgets = budgets
        self.sourceFile = sourceFile
        backendIndex = Self.index(backends.map(\.name))
        modelIndex = Self.index(models.map(\.name))
        userIndex = Self.index(users.map(\.name))
        groupIndex = Self.index(groups.map(\.name))
    }

    /// Every key at its default: no backends, models or users.
    public static let `default` = GatewayConfig()

    public func backend(named name: String) -> BackendConfig? { backendIndex[name].map { backends[$0] } }
    public func model(named name: String) -> ModelConfig? { modelIndex[name].map { models[$0] } }
    public func user(named name: String) -> UserConfig? { userIndex[name].map { users[$0] } }
    public func group(named name: String) -> GroupConfig? { groupIndex[name].map { groups[$0] } }

    /// The limits to enforce for `user`: the user's own over its group's over `defaults`,
    /// with 0 (unlimited) normalized to nil.
    public func limits(for user: UserConfig) -> LimitsConfig {
        let groupLimits = user.group.flatMap { group(named: $0) }?.limits ?? .unlimited
        return user.limits.overriding(groupLimits.overriding(defaults.limits)).enforced
    }

    /// The models `user` may call, in config order (GET /v1/models).
    public func models(for user: UserConfig) -> [ModelConfig] {
        models.filter { user.mayUse(model: $0.name) }
    }

    /// The keys whose plaintext the file itself supplies (`${VAR:-default}` with VAR unset),
    /// with the user they belong to (nil for the admin key): what `serve` prints.
    public var demoKeys: [(user: String?, key: ClientKey)] {
        var result: [(user: String?, key: ClientKey)] = []
        if let key = admin.key, key.demoPlaintext != nil { result.append((nil, key)) }
        for user in users {
            for key in user.keys where key.demoPlaintext != nil { result.append((user.name, key)) }
        }
        return result
    }

    public static func == (lhs: GatewayConfig, rhs: GatewayConfig) -> Bool {
        lhs.server == rhs.server && lhs.storage == rhs.storage && lhs.admin == rhs.admin
            && lhs.metrics == rhs.metrics && lhs.defaults == rhs.defaults && lhs.groups == rhs.groups
            && lhs.backends == rhs.backends && lhs.models == rhs.models && lhs.users == rhs.users
            && lhs.budgets == rhs.budgets && lhs.sourceFile == rhs.sourceFile
    }

    /// Name → position; on a repeated name the first wins (the loader never lets one through).
    private static func index(_ names: [String]) -> [String: Int] {
        var result: [String: Int] = [:]
        for (position, name) in names.enumerated() where result[name] == nil { result[name] = position }
        return result
    }
}
