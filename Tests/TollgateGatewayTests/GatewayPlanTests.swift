// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateConfig
import TollgateLimits
@testable import TollgateGateway
import TollgateCore

struct GatewayPlanTests {
    @Test func pricingBecomesTheCostModel() {
        #expect(GatewayPlan.costModel(of: Pricing(billing: .perSecond, microDollars: 190, roundUp: .seconds(1), minimumMicroDollars: 10_000))
                == .perSecond(perSecond: MicroDollars(190), roundUpMs: 1_000, minimum: MicroDollars(10_000)))
        #expect(GatewayPlan.costModel(of: Pricing(billing: .perRequest, microDollars: 10_000)) == .perRequest(MicroDollars(10_000)))
        #expect(GatewayPlan.costModel(of: Pricing(billing: .alwaysOn, microDollars: 400_000)) == .alwaysOn(perHour: MicroDollars(400_000)))
    }

    @Test func upstreamErrorMessagesAreExtracted() {
        #expect(ProxyExchange.upstreamMessage(Array(#"{"error":{"message":"GPU \"exploded\"","type":"x"}}"#.utf8)) == #"GPU "exploded""#)
        #expect(ProxyExchange.upstreamMessage(Array(#"{"detail":"Not found"}"#.utf8)) == "Not found")
        #expect(ProxyExchange.upstreamMessage(Array("plain text".utf8)) == "plain text")
        #expect(ProxyExchange.upstreamMessage([]) == nil)
    }
}
