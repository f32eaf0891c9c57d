// SPDX-License-Identifier: Apache-2.0
// Config → the runtime's own terms. Leaf modules never see GatewayConfig; this file is the one
// place that maps it onto the HTTP server's options and the routing plan.
import TollgateBackends
import TollgateLimits
public import TollgateConfig
public import TollgateHTTP
import TollgateIO
import TollgateCore

extension HTTPServerOptions {
    /// The `server:` section as the HTTP layer's options.
    public init(server: ServerConfig, defaultWorkers: Int) {
        self.init()
        host = server.listenHost
        port = server.listenPort
        workers = server.workers ?? defaultWorkers
        maxConnections = server.maxConnections
        limits = HTTPParserLimits(maxHeader: server.maxHeader, maxBody: server.maxBody)
        headerTimeout = server.headerTimeout.nanoseconds
        bodyTimeout = server.bodyTimeout.nanoseconds
        idleTimeout = server.idleTimeout.nanoseconds
        drainTimeout = server.drainTimeout.nanoseconds
    }
}

extension GatewayPlan {
    /// Builds the routing plan from a validated config (names were checked by the loader).
    public convenience init(config: GatewayConfig, board: BackendBoard = BackendBoard()) {
        var backendIndex: [String: Int] = [:]
        var backends: [BackendPlan] = []
        let hub = HubEndpoint.fromEnvironment()
        for backend in config.backends {
            backendIndex[backend.name] = backends.count
            backends.append(Self.plan(for: backend, hub: hub))
        }
        let models = config.models.map { model in
            ModelPlan(name: model.name, task: model.task,
                      backends: model.backends.compactMap { backendIndex[$0] }, attempts: model.attempts,
                      maxLatencyMs: model.maxLatency.map { Int64($0.milliseconds) },
                      queueTimeoutNs: model.queueTimeout.nanoseconds)
        }
        var users: [UserPlan] = []
        var keys: [KeyPlan] = []
        for user in config.users {
            for key in user.keys { keys.append(KeyPlan(digest: key.digest, user: users.count, keyID: key.keyID)) }
            let limits = config.limits(for: user)
            users.append(UserPlan(name: user.name, allowedModels: user.allowsAllModels ? nil : Set(user.models),
                                  milliGPUSecondsPerDay: limits.milliGPUSecondsPerDay,
                                  microDollarsPerMonth: limits.microDollarsPerMonth,
                                  rateLimits: RateLimits(requestsPerMinute: limits.requestsPerMinute,
                                                         concurrent: limits.concurrent)))
        }
        // The loader checked every trusted_proxies entry's syntax; IPBlock reads the same forms.
        self.init(backends: backends, models: models, users: users, keys: keys,
                  adminDigest: config.admin.key?.digest, secrets: config.backends.flatMap(Self.secrets(of:)),
                  trustedProxies: config.server.trustedProxies.compactMap { IPBlock(text: $0) },
                  metrics: (config.metrics.protected, config.metrics.userLabel),
                  monthBudget: config.budgets.microDollarsPerMonth.map(MicroDollars.init),
                  quotaPeriods: QuotaPeriods(calendar: QuotaCalendar(zone: config.defaults.zoneRules)), board: board)
    }

    /// The credentials a backend sends upstream: its api_key (hf_space: token), Modal's token
    /// pair, and the credential headers of its idle request (a `Bearer x` value also as `x`).
    static func secrets(of backend: BackendConfig) -> [String] {
        var secrets: [String] = []
        if let key = backend.apiKey { secrets.append(key) }
        if case .modal(let modal) = backend.options {
            secrets += [modal.tokenID, modal.tokenSecret].compactMap { $0 }
        }
        if case .http(let request)? = backend.idle?.action {
            for header in request.headers where Self.isCredentialHeader(header.name) {
                secrets.append(header.value)
                if let space = header.value.firstIndex(of: " ") {
                    secrets.append(String(header.value[header.value.index(after: space)...]))
                }
            }
        }
        return secrets
    }

    private static func isCredentialHeader(_ name: String) -> Bool {
        let lower = name.lowercased()
        return ["auth", "key", "token", "secret", "cookie", "signature"].contains { lower.contains($0) }
    }

    /// What every upstream kind knows of its backend's connection, from its config.
    private static func endpoint(of backend: BackendConfig) -> BackendEndpoint {
        BackendEndpoint(name: backend.name, baseURL: backend.url?.description ?? "", apiKey: backend.apiKey,
                        connectTimeoutMs: backend.connectTimeout.milliseconds,
                        totalTimeoutMs: backend.timeout.milliseconds, maxResponseBytes: backend.maxResponse,
                        caFile: backend.tls?.caFile)
    }

    private static func gradioInput(_ input: GradioInput) -> GradioDataInput {
        switch input {
        case .field(let name): return .field(name)
        case .string(let text): return .string(text)
        case .integer(let value): return .integer(value)
        case .number(let value): return .number(value)
        case .bool(let value): return .bool(value)
        case .null: return .null
        }
    }

    /// The probe in effect (the config's, or its kind's default), as the prober's target. A
    /// RunPod endpoint's `/health` is read for its worker counts; any other path is a plain GET.
    private static func health(of backend: BackendConfig) -> BackendRouting.Health? {
        guard let check = backend.health else { return nil }
        let target: ProbeTarget
        switch (check.probe, backend.options) {
        case (.path("/health"), .runpod): target = .runpod
        case (.path(let path), _): target = .path(path)
        case (.hubRuntime, .hfSpace(let space)):
            guard let id = space.space else { return nil }
            target = .hubRuntime(space: id)
        case (.hubRuntime, _): return nil
        }
        return BackendRouting.Health(target: target, intervalNs: check.interval.nanoseconds)
    }

    /// `idle:` as the call it makes.
    private static func idle(of backend: BackendConfig) -> BackendRouting.Idle? {
        guard let policy = backend.idle else { return nil }
        switch policy.action {
        case .pause:
            guard case .hfSpace(let space) = backend.options, let id = space.space else { return nil }
            return BackendRouting.Idle(afterNs: policy.after.nanoseconds, call: .space(id))
        case .http(let request):
            return BackendRouting.Idle(afterNs: policy.after.nanoseconds, call: .http(
                method: request.method, url: request.url.description,
                headers: request.headers.map { IdleCall.Header($0.name, $0.value) }))
        }
    }

    /// The config's backend as its kind's type: the one place that maps config onto kinds.
    private static func plan(for backend: BackendConfig, hub: HubEndpoint) -> BackendPlan {
        let kind: any TollgateBackends.BackendKind
        let endpoint = Self.endpoint(of: backend)
        switch backend.options {
        case .openai:
            kind = OpenAIKind(options: OpenAIBackendOptions(endpoint: endpoint))
        case .simulated(let sim):
            kind = SimulatedKind(options: SimulatedBackendOptions(
                name: backend.name, latencyMeanMs: Double(sim.latency.milliseconds),
                latencyJitterMs: Double(sim.latencyJitter.milliseconds),
                coldStartMs: Double(backend.coldStart.milliseconds), coldAfterMs: Double(sim.coldAfter.milliseconds),
                failureRate: sim.failureRate, streamIntervalMs: Double(sim.streamInterval.milliseconds)))
        case .http:
            kind = HTTPKind(options: OpenAIBackendOptions(endpoint: endpoint))
        case .modal(let modal):
            kind = ModalKind(options: OpenAIBackendOptions(endpoint: endpoint), tokenID: modal.tokenID,
                             tokenSecret: modal.tokenSecret)
        case .replicate(let replicate):
            let target: ReplicateBackendOptions.Target
            switch replicate.target {
            case .model(let owner, let name): target = .model(owner: owner, name: name)
            case .version(let version): target = .version(version)
            }
            kind = ReplicateKind(options: ReplicateBackendOptions(endpoint: endpoint, target: target))
        case .hfSpace(let space):
            kind = HFSpaceKind(options: HFSpaceBackendOptions(
                endpoint: endpoint, apiName: space.apiName, inputs: space.inputs.map(Self.gradioInput), output: space.output))
        case .runpod:
            kind = RunPodKind(options: RunPodBackendOptions(endpoint: endpoint))
        }
        let firstByte = min(backend.firstByteTimeout, backend.timeout)
        return BackendPlan(name: backend.name, kind: kind, upstreamModel: backend.model,
                           firstByteTimeoutNs: firstByte.nanoseconds,
                           costModel: backend.pricing?.costModel ?? .free, billColdStart: backend.billColdStart,
                           monthBudget: backend.budgetMicroDollarsPerMonth.map(MicroDollars.init),
                           expectedRunMs: Int64(backend.expectedRun.milliseconds),
                           routing: BackendRouting(
                               maxConcurrency: backend.maxConcurrency, coldStartMs: Int64(backend.coldStart.milliseconds),
                               timeoutNs: backend.timeout.nanoseconds, circuitFailures: backend.circuit.failures,
                               circuitCooldownNs: backend.circuit.cooldown.nanoseconds,
                               circuitMaxCooldownNs: backend.circuit.maxCooldown.nanoseconds,
                               health: health(of: backend), idle: idle(of: backend), endpoint: endpoint, hub: hub),
                           kindName: backend.kind.rawValue)
    }
}
