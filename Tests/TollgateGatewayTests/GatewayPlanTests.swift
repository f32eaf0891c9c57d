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
}
