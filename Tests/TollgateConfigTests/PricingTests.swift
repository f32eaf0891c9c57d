// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateConfig
import TollgateCore

struct PricingTests {
    @Test func pricingBecomesTheCostModel() {
        #expect(Pricing(billing: .perSecond, microDollars: 190, roundUp: .seconds(1), minimumMicroDollars: 10_000).costModel
                == .perSecond(perSecond: MicroDollars(190), roundUpMs: 1_000, minimum: MicroDollars(10_000)))
        #expect(Pricing(billing: .perRequest, microDollars: 10_000).costModel == .perRequest(MicroDollars(10_000)))
        #expect(Pricing(billing: .alwaysOn, microDollars: 400_000).costModel == .alwaysOn(perHour: MicroDollars(400_000)))
    }
}
