// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateConfig
@testable import TollgateGateway
import TollgateCore

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

    @Test func pricingBecomesTheCostModel() {
        #expect(GatewayPlan.costModel(of: Pricing(billing: .perSecond, microDollars: 190, roundUp: .seconds(1), minimumMicroDollars: 10_000))
                == .perSecond(perSecond: MicroDollars(190), roundUpMs: 1_000, minimum: MicroDollars(10_000)))
        #expect(GatewayPlan.costModel(of: Pricing(billing: .perRequest, microDollars: 10_000)) == .perRequest(MicroDollars(10_000)))
        #expect(GatewayPlan.costModel(of: Pricing(billing: .alwaysOn, microDollars: 400_000)) == .alwaysOn(perHour: MicroDollars(400_000)))
    }
}
