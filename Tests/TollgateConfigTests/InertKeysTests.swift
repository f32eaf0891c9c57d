// SPDX-License-Identifier: Apache-2.0
// Keys the schema accepts but this version does not act on are named, with their lines, so
// `serve` can warn that a config looks protected when it is not.
import Testing
import TollgateConfig

struct InertKeysTests {
    @Test func everyInertKeyPresentIsNamedAtItsLine() {
        let yaml = """
        server:
          listen: 127.0.0.1:0
          trusted_proxies: [10.0.0.1]   # read: X-Forwarded-For from it names the client
        storage:                        # in effect since the usage log (issue 9): not named
          sqlite: ./x.db
        defaults:
          limits: { requests_per_minute: 60 }   # enforced since issue 11: not named
          timezone: Europe/Paris
        backends:
          box:
            kind: openai
            url: http://127.0.0.1:9
            health: { path: /health }   # E4
            circuit: { failures: 3 }    # E5
            max_concurrency: 2          # E6
            cold_start: 20s             # E7
            bill_cold_start: true       # in effect since issue 9: not named
          sim:
            kind: simulated
            cold_start: 1s
        models:
          m: { task: chat, backends: [box, sim], queue_timeout: 5s }   # E8
        users:
          alice:
            keys: ["tg-0123456789abcdef0123456789"]
            group: free                 # picks the inherited limits: in effect, not named
            limits:
              concurrent: 2             # enforced (RateLimiter): not named
              gpu_seconds_per_day: 60   # enforced (quotas): not named
        groups:
          free:
            limits: { requests_per_minute: 5, usd_per_month: 3 }   # enforced: not named
        budgets: { usd_per_month: 5 }   # in effect since issue 11 (quotas): not named
        """
        let result = TestSupport.load(yaml)
        #expect(result.errors.isEmpty, "\(TestSupport.errors(result))")
        let lines = TestSupport.markerLines(in: yaml)
        let found = result.inertKeys.map { "\($0.path)@\($0.line)" }
        #expect(found == [
            "backends.box.health@\(lines["E4"]!)", "backends.box.circuit@\(lines["E5"]!)",
            "backends.box.max_concurrency@\(lines["E6"]!)", "backends.box.cold_start@\(lines["E7"]!)",
            "models.m.queue_timeout@\(lines["E8"]!)",
        ])
        // The simulated backend's cold_start is its own wake-up delay: in effect, not named.
        #expect(!found.contains { $0.hasPrefix("backends.sim.") })
        #expect(!found.contains { $0.hasPrefix("backends.box.bill_cold_start") })
        #expect(!found.contains { $0.hasPrefix("storage") })
        #expect(!found.contains { $0.hasPrefix("budgets") })
        #expect(!found.contains { $0.hasPrefix("defaults") || $0.hasPrefix("users") || $0.hasPrefix("groups") })
    }

    @Test func aConfigWithoutThemHasNone() {
        let result = TestSupport.load("""
        server: { listen: 127.0.0.1:0, trusted_proxies: [] }
        backends: { sim: { kind: simulated } }
        models: { m: { task: chat, backends: [sim] } }
        users: { alice: { keys: ["tg-0123456789abcdef0123456789"], limits: ~ } }
        metrics: { protected: false, user_label: false }
        """)
        #expect(result.errors.isEmpty, "\(TestSupport.errors(result))")
        #expect(result.inertKeys.isEmpty)
    }
}
