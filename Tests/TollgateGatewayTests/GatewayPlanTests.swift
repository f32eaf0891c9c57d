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
