// SPDX-License-Identifier: Apache-2.0
// The two derived figures of a candidate: rounding, and no trap on any input.
import Testing
import TollgateCore
import TollgateRouting

struct RoutingCandidateTests {
    private func candidate(_ model: CostModel, runMs: Int64, coldMs: Int64 = 0, pCold: Double = 0,
                           availability: Availability = .ready) -> RoutingCandidate {
        RoutingCandidate(costModel: model, maxConcurrency: 1, inFlight: 0, expectedRunMs: runMs, coldStartMs: coldMs,
                         pCold: pCold, availability: availability)
    }

    @Test func perSecondPricesRunPlusExpectedColdStart() {
        let price = CostModel.perSecond(perSecond: MicroDollars(190))
        #expect(candidate(price, runMs: 1_500).expectedCost == MicroDollars(285))
        // 1 s + 0.5 × 2 s = 2 s.
        #expect(candidate(price, runMs: 1_000, coldMs: 2_000, pCold: 0.5).expectedCost == MicroDollars(380))
        #expect(candidate(price, runMs: 1_000, coldMs: 2_000, pCold: 0.5).expectedLatencyMs == 2_000)
        // The platform's own rounding and minimum apply to the expected run too.
        let rounded = CostModel.perSecond(perSecond: MicroDollars(190), roundUpMs: 1_000, minimum: MicroDollars(500))
        #expect(candidate(rounded, runMs: 1_001).expectedCost == MicroDollars(500))
        #expect(candidate(rounded, runMs: 2_001).expectedCost == MicroDollars(570))
    }

    @Test func otherBillingKinds() {
        #expect(candidate(.alwaysOn(perHour: MicroDollars(400_000)), runMs: 60_000).expectedCost == .zero)
        #expect(candidate(.free, runMs: 60_000).expectedCost == .zero)
        #expect(candidate(.perRequest(MicroDollars(10_000)), runMs: 60_000, coldMs: 9_000, pCold: 1).expectedCost == MicroDollars(10_000))
    }

    @Test func pausedAddsTheWakeToLatencyOnly() {
        let paused = candidate(.perSecond(perSecond: MicroDollars(100)), runMs: 1_000, availability: .paused(wakeMs: 30_000))
        #expect(paused.expectedLatencyMs == 31_000)
        #expect(paused.expectedCost == MicroDollars(100))
        #expect(candidate(.free, runMs: 1_000, availability: .paused(wakeMs: -5)).expectedLatencyMs == 1_000)
    }

    @Test func absurdInputsSaturateInsteadOfTrapping() {
        let price = CostModel.perSecond(perSecond: MicroDollars(.max))
        let huge = candidate(price, runMs: .max, coldMs: .max, pCold: 1, availability: .paused(wakeMs: .max))
        #expect(huge.expectedLatencyMs == .max)
        #expect(huge.expectedCost == MicroDollars(.max))
        let nearMax = candidate(price, runMs: 0, coldMs: .max, pCold: 0.999_999)
        #expect(nearMax.expectedLatencyMs > 0)
        let negative = candidate(price, runMs: -5, coldMs: -7, pCold: -3)
        #expect(negative.expectedLatencyMs == 0)
        #expect(negative.expectedCost == .zero)
        // NaN counts as cold; infinities clamp.
        #expect(candidate(.free, runMs: 1_000, coldMs: 2_000, pCold: .nan).expectedLatencyMs == 3_000)
        #expect(candidate(.free, runMs: 1_000, coldMs: 2_000, pCold: .infinity).expectedLatencyMs == 3_000)
        #expect(candidate(.free, runMs: 1_000, coldMs: 2_000, pCold: -.infinity).expectedLatencyMs == 1_000)
    }
}
