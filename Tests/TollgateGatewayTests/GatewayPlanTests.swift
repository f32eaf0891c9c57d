// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateConfig
@testable import TollgateGateway

struct GatewayPlanTests {
    @Test func authenticatesByDigestOnly() {
        let key = "tg-test-key"
        let plan = GatewayPlan(backends: [], models: [], users: [UserPlan(name: "alice", allowedModels: ["m"])],
                               keys: [KeyPlan(digest: SHA256.hash(utf8: key), user: 0, keyID: "abcd1234")])
        #expect(plan.authenticate(key: key)?.user.name == "alice")
        #expect(plan.authenticate(key: key)?.keyID == "abcd1234")
        #expect(plan.authenticate(key: "tg-test-kez") == nil)
        #expect(plan.authenticate(key: "") == nil)
        #expect(plan.users[0].mayUse("m") && !plan.users[0].mayUse("n"))
    }

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

    @Test func costFollowsBilling() {
        func backend(_ billing: BillingPlan) -> BackendPlan {
            BackendPlan(name: "b", kind: .simulated(.init(name: "b"), .init()), upstreamModel: nil,
                        firstByteTimeoutNs: 1, billing: billing)
        }
        #expect(backend(.perSecond(microdollarsPerSecond: 190)).cost(seconds: 10) == 0.0019)
        #expect(backend(.perRequest(microdollars: 10_000)).cost(seconds: 99) == 0.01)
        #expect(backend(.alwaysOn(microdollarsPerHour: 400_000)).cost(seconds: 99) == 0)
        #expect(ProxyExchange.decimal(0.0019) == "0.001900")
        #expect(ProxyExchange.decimal(12.5) == "12.500000")
    }

    @Test func upstreamErrorMessagesAreExtracted() {
        #expect(ProxyExchange.upstreamMessage(Array(#"{"error":{"message":"GPU \"exploded\"","type":"x"}}"#.utf8)) == #"GPU "exploded""#)
        #expect(ProxyExchange.upstreamMessage(Array(#"{"detail":"Not found"}"#.utf8)) == "Not found")
        #expect(ProxyExchange.upstreamMessage(Array("plain text".utf8)) == "plain text")
        #expect(ProxyExchange.upstreamMessage([]) == nil)
    }
}
