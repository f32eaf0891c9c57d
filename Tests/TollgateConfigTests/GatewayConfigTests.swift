// SPDX-License-Identifier: Apache-2.0
// Defaults, lookups and effective limits.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import TollgateConfig

@Suite struct GatewayConfigTests {
    @Test func defaultsMatchTheSpec() {
        let d = GatewayConfig.default
        #expect(d.server.listenHost == "127.0.0.1" && d.server.listenPort == 8080)
        #expect(d.server.workers == nil)
        #expect(d.server.maxConnections == 10_000)
        #expect(d.server.maxHeader == 32 * 1024)
        #expect(d.server.maxBody == 100 * 1024 * 1024)
        #expect(d.server.headerTimeout == .seconds(10) && d.server.bodyTimeout == .seconds(30))
        #expect(d.server.idleTimeout == .seconds(75) && d.server.drainTimeout == .seconds(30))
        #expect(d.server.trustedProxies.isEmpty)
        #expect(d.storage == StorageConfig(sqlite: "./tollgate.db", retentionDays: 90))
        #expect(!d.admin.isEnabled)
        #expect(d.metrics == MetricsConfig(protected: false, userLabel: true))
        #expect(d.defaults.timezone == "UTC" && d.defaults.limits == .unlimited)
        #expect(d.budgets.microDollarsPerMonth == nil)
        #expect(d.groups.isEmpty && d.backends.isEmpty && d.models.isEmpty && d.users.isEmpty)
    }

    @Test func everyServerKey() throws {
        let config = try #require(TestSupport.load("""
            server:
              listen: "[::1]:0"
              workers: 4
              max_connections: 500
              max_header: 16KB
              max_body: 1GB
              header_timeout: 5s
              body_timeout: 1m
              idle_timeout: 500ms
              drain_timeout: 0s
              trusted_proxies: [ 10.0.0.0/8, "fd00::/8", 192.168.1.1 ]
            storage: { sqlite: /var/lib/tollgate/usage.db, retention_days: 0 }
            """).config)
        #expect(config.server == ServerConfig(listenHost: "::1", listenPort: 0, workers: 4, maxConnections: 500,
                                              maxHeader: 16 << 10, maxBody: 1 << 30, headerTimeout: .seconds(5),
                                              bodyTimeout: .seconds(60), idleTimeout: .milliseconds(500),
                                              drainTimeout: .zero, trustedProxies: ["10.0.0.0/8", "fd00::/8", "192.168.1.1"]))
        #expect(config.server.listenAddress == "[::1]:0")
        #expect(config.storage == StorageConfig(sqlite: "/var/lib/tollgate/usage.db", retentionDays: 0))
    }

    @Test func effectiveLimitsLayerUserOverGroupOverDefaults() throws {
        let config = try #require(TestSupport.load("""
            defaults:
              limits: { requests_per_minute: 60, concurrent: 4, usd_per_month: 10 }
            groups:
              free: { limits: { gpu_seconds_per_day: 300.5, usd_per_month: 1 } }
              team: { limits: { requests_per_minute: 0 } }
            users:
              a: { keys: ["${A}"], group: free }
              b: { keys: ["${B}"], group: team, limits: { concurrent: 0, usd_per_month: 25 } }
              c: { keys: ["${C}"] }
            """, environment: ["A": "tg-a-0000000000", "B": "tg-b-0000000000", "C": "tg-c-0000000000"]).config)
        let a = try #require(config.user(named: "a"))
        let b = try #require(config.user(named: "b"))
        let c = try #require(config.user(named: "c"))
        #expect(config.limits(for: a) == LimitsConfig(requestsPerMinute: 60, concurrent: 4, milliGPUSecondsPerDay: 300_500,
                                                      microDollarsPerMonth: 1_000_000))
        // 0 means unlimited and overrides a lower level.
        #expect(config.limits(for: b) == LimitsConfig(microDollarsPerMonth: 25_000_000))
        #expect(config.limits(for: c) == LimitsConfig(requestsPerMinute: 60, concurrent: 4, microDollarsPerMonth: 10_000_000))
        #expect(b.limits == LimitsConfig(concurrent: 0, microDollarsPerMonth: 25_000_000))
        #expect(!config.limits(for: a).isUnlimited)
    }

    @Test func lookupsAndModelAccess() throws {
        let config = try #require(TestSupport.load("""
            backends:
              sim: { kind: simulated }
            models:
              chat: { task: chat, backends: [sim] }
              embed: { task: embedding, backends: [sim], max_latency: 5s, attempts: 1, queue_timeout: 0s }
              edit: { task: image_edit, backends: [sim] }
            users:
              all: { keys: ["${A}"] }
              some: { keys: ["${B}"], models: [embed] }
            """, environment: ["A": "tg-a-0000000000", "B": "tg-b-0000000000"]).config)
        #expect(config.backend(named: "sim")?.kind == .simulated)
        #expect(config.backend(named: "nope") == nil)
        #expect(config.model(named: "embed") == ModelConfig(name: "embed", task: .embedding, backends: ["sim"],
                                                             maxLatency: .seconds(5), attempts: 1, queueTimeout: .zero, line: 5))
        #expect(config.model(named: "chat")?.attempts == 3)
        #expect(config.model(named: "chat")?.queueTimeout == .seconds(10))
        #expect(config.model(named: "edit")?.task == .imageEdit)
        let all = try #require(config.user(named: "all"))
        let some = try #require(config.user(named: "some"))
        #expect(all.models == ["*"] && all.mayUse(model: "edit"))
        #expect(some.mayUse(model: "embed") && !some.mayUse(model: "chat"))
        #expect(config.models(for: some).map(\.name) == ["embed"])
        #expect(config.models(for: all).map(\.name) == ["chat", "embed", "edit"])
    }

    @Test func backendOrderIsConfigOrder() throws {
        let config = try #require(TestSupport.load("""
            backends:
              zeta: { kind: simulated }
              alpha: { kind: simulated }
              mid: { kind: simulated }
            models:
              m: { task: raw, backends: [mid, zeta, alpha] }
            """).config)
        #expect(config.backends.map(\.name) == ["zeta", "alpha", "mid"])
        #expect(config.model(named: "m")?.backends == ["mid", "zeta", "alpha"])
    }

    @Test(.enabled(if: FileSystemProbe.hasZone("Europe/Berlin")))
    func ianaTimeZone() throws {
        let config = try #require(TestSupport.load("defaults:\n  timezone: Europe/Berlin\n").config)
        #expect(config.defaults.timezone == "Europe/Berlin")
    }

    @Test func metricsAndBudgets() throws {
        let config = try #require(TestSupport.load("""
            admin: { key: "${ADMIN}" }
            metrics: { protected: true, user_label: false }
            budgets: { usd_per_month: 200 }
            """, environment: ["ADMIN": "tg-admin-00000000"]).config)
        #expect(config.metrics == MetricsConfig(protected: true, userLabel: false))
        #expect(config.budgets.microDollarsPerMonth == 200_000_000)
    }
}

/// Whether the machine has a tz database entry, asked of the file system directly (not of
/// the loader under test), so a missing tzdata package skips the test instead of failing it.
enum FileSystemProbe {
    static func hasZone(_ name: String) -> Bool {
        var info = stat()
        return stat("/usr/share/zoneinfo/\(name)", &info) == 0
    }
}
