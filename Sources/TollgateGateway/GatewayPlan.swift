// SPDX-License-Identifier: Apache-2.0
// The frozen, routable form of the config: what the hot path needs, in its own terms, built
// once (and again on reload) by the composition root. Immutable and shared by every loop.
public import TollgateBackends
import TollgateConfig
public import TollgateIO
public import TollgateCore

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

    public init(name: String, kind: any TollgateBackends.BackendKind, upstreamModel: String?, firstByteTimeoutNs: UInt64, costModel: CostModel) {
        self.name = name
        self.kind = kind
        self.upstreamModel = upstreamModel
        self.firstByteTimeoutNs = firstByteTimeoutNs
        self.costModel = costModel
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

/// A client key as stored: its SHA-256 digest, never the key.
public struct KeyPlan: Sendable {
    public var digest: [UInt8]
    public var user: Int
    /// Short non-secret id for logs (e.g. the first 8 hex digits of the digest).
    public var keyID: String

    public init(digest: [UInt8], user: Int, keyID: String) {
        self.digest = digest
        self.user = user
        self.keyID = keyID
    }
}

public final class GatewayPlan: Sendable {
    public let backends: [BackendPlan]
    public let models: [ModelPlan]
    public let users: [UserPlan]
    /// `server.trusted_proxies`: peers whose X-Forwarded-For names the client.
    public let trustedProxies: [IPBlock]
    private let modelIndex: [String: Int]
    /// Keyed by the digest; the match is confirmed in constant time.
    private let keys: [[UInt8]: KeyPlan]

    /// Every configured upstream secret, cut out of upstream text the gateway relays (SPEC §7).
    public let redactor: SecretRedactor

    public init(backends: [BackendPlan], models: [ModelPlan], users: [UserPlan], keys: [KeyPlan],
                secrets: [String] = [], trustedProxies: [IPBlock] = []) {
        self.redactor = SecretRedactor(secrets: secrets)
        self.trustedProxies = trustedProxies
        self.backends = backends
        self.models = models
        self.users = users
        var index: [String: Int] = [:]
        for (i, m) in models.enumerated() { index[m.name] = i }
        modelIndex = index
        var table: [[UInt8]: KeyPlan] = [:]
        for key in keys { table[key.digest] = key }
        self.keys = table
    }

    public func model(named name: String) -> ModelPlan? {
        modelIndex[name].map { models[$0] }
    }

    /// The user a bearer key belongs to: SHA-256 of the key, looked up by digest, confirmed
    /// with a constant-time comparison (SPEC §7).
    public func authenticate(key: String) -> (user: UserPlan, keyID: String)? {
        let digest = SHA256.hash(utf8: key)
        guard let entry = keys[digest], ConstantTime.equals(entry.digest, digest) else { return nil }
        return (users[entry.user], entry.keyID)
    }
}
