// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateConfig
import TollgateLimits
@testable import TollgateGateway
import TollgateCore

struct GatewayPlanTests {
    /// Every way a config can give a key (environment, sha256 hash, a default written in the
    /// file, a literal) ends as a digest the plan finds.
    @Test func authenticatesEveryKindOfConfiguredKey() throws {
        let yaml = """
            users:
              alice:
                keys:
                  - "${ALICE_KEY}"
                  - "sha256:52e7c5fe496c622913d84e56be2f8fec6c2616ace2341a23c2c22951cdfe6346"
              demo:
                keys: [ "${DEMO_KEY:-tg-demo-key-from-file}" ]
              bob:
                keys: [ "tg-bob-literal-key" ]
            """
        let result = ConfigLoader.load(yaml: yaml, file: "t.yaml", environment: ["ALICE_KEY": "tg-alice-from-env"])
        let plan = GatewayPlan(config: try #require(result.config))
        #expect(plan.authenticate(key: "tg-alice-from-env")?.user.name == "alice")
        #expect(plan.authenticate(key: "tg-alice")?.user.name == "alice")
        #expect(plan.authenticate(key: "tg-alice")?.keyID == "52e7c5fe")
        #expect(plan.authenticate(key: "tg-demo-key-from-file")?.user.name == "demo")
        #expect(plan.authenticate(key: "tg-bob-literal-key")?.user.name == "bob")
        #expect(plan.authenticate(key: "tg-bob-literal-ke") == nil)
        #expect(plan.authenticate(key: "") == nil)
    }

    /// A user has a quota when a GPU-seconds or dollars limit applies after inheritance
    /// (defaults → group → user, 0 = unlimited): those are refused while metering fails.
    @Test func aQuotaIsKnownAfterInheritance() throws {
        let yaml = """
            defaults:
              limits: { requests_per_minute: 60 }
            groups:
              paid:
                limits: { usd_per_month: 20 }
            users:
              free:  { keys: ["tg-free-key-0123456789abcdef"] }
              paid:  { keys: ["tg-paid-key-0123456789abcdef"], group: paid }
              gpu:   { keys: ["tg-gpu-key-0123456789abcdefg"], limits: { gpu_seconds_per_day: 600 } }
              unlim: { keys: ["tg-unlim-key-0123456789abcde"], group: paid, limits: { usd_per_month: 0 } }
            """
        let result = ConfigLoader.load(yaml: yaml, file: "t.yaml", environment: [:])
        let plan = GatewayPlan(config: try #require(result.config, "\(result.diagnostics)"))
        let quota = Dictionary(uniqueKeysWithValues: plan.users.map { ($0.name, $0.hasQuota) })
        #expect(quota == ["free": false, "paid": true, "gpu": true, "unlim": false])
    }
}
