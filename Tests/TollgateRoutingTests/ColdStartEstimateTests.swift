// SPDX-License-Identifier: Apache-2.0
// P(cold) learnt from request gaps.
import Testing
import TollgateRouting

struct ColdStartEstimateTests {
    @Test func beforeAnyObservationThePriorDecides() {
        let estimate = ColdStartEstimate(coldAfterPriorMs: 300_000)
        #expect(estimate.coldAfterMs == 300_000)
        #expect(estimate.probability(gapMs: nil, probe: nil) == 1)  // never used since start
        #expect(estimate.probability(gapMs: 0, probe: nil) == 0)
        #expect(estimate.probability(gapMs: 150_000, probe: nil) == 0.5)
        #expect(estimate.probability(gapMs: 300_000, probe: nil) == 1)
        #expect(estimate.probability(gapMs: .max, probe: nil) == 1)
        #expect(estimate.probability(gapMs: -10, probe: nil) == 0)
    }

    @Test func aProbesWordWins() {
        let estimate = ColdStartEstimate(coldAfterPriorMs: 300_000)
        #expect(estimate.probability(gapMs: nil, probe: .warm) == 0)
        #expect(estimate.probability(gapMs: 0, probe: .cold) == 1)
    }

    @Test func learnsTheWarmAndColdBounds() {
        var estimate = ColdStartEstimate(coldAfterPriorMs: 300_000)
        estimate.observe(gapMs: 100_000, cold: false)
        #expect(estimate.probability(gapMs: 100_000, probe: nil) == 0)
        #expect(estimate.probability(gapMs: 200_000, probe: nil) == 0.5)
        estimate.observe(gapMs: 50_000, cold: false)  // a shorter warm gap teaches nothing
        #expect(estimate.longestWarmGapMs == 100_000)
        estimate.observe(gapMs: 240_000, cold: true)
        #expect(estimate.coldAfterMs == 240_000)
        #expect(estimate.probability(gapMs: 170_000, probe: nil) == 0.5)
        #expect(estimate.probability(gapMs: 240_000, probe: nil) == 1)
        estimate.observe(gapMs: 400_000, cold: true)  // a longer cold gap teaches nothing
        #expect(estimate.coldAfterMs == 240_000)
        // Warm beyond the prior with no cold bound: the backend stays warm at least that long.
        var longWarm = ColdStartEstimate(coldAfterPriorMs: 300_000)
        longWarm.observe(gapMs: 500_000, cold: false)
        #expect(longWarm.coldAfterMs == 500_000)
        #expect(longWarm.probability(gapMs: 499_999, probe: nil) == 0)
        #expect(longWarm.probability(gapMs: 500_000, probe: nil) == 1)
    }

    @Test func contradictedBoundsAreForgotten() {
        var estimate = ColdStartEstimate(coldAfterPriorMs: 300_000)
        estimate.observe(gapMs: 200_000, cold: false)
        // A cold start after 10 s (a recycled worker): the warm bound it contradicts goes.
        estimate.observe(gapMs: 10_000, cold: true)
        #expect(estimate.longestWarmGapMs == nil)
        #expect(estimate.coldAfterMs == 10_000)
        #expect(estimate.probability(gapMs: 5_000, probe: nil) == 0.5)
        // Then warm after 20 s: the cold bound was wrong, back to the prior.
        estimate.observe(gapMs: 20_000, cold: false)
        #expect(estimate.shortestColdGapMs == nil)
        #expect(estimate.coldAfterMs == 300_000)
        #expect(estimate.probability(gapMs: 20_000, probe: nil) == 0)
    }

    @Test func extremesStayWithinZeroAndOne() {
        var estimate = ColdStartEstimate(coldAfterPriorMs: .max)
        estimate.observe(gapMs: .min, cold: false)
        estimate.observe(gapMs: .max, cold: false)
        for gap: Int64 in [.min, -1, 0, 1, .max / 2, .max - 1, .max] {
            let p = estimate.probability(gapMs: gap, probe: nil)
            #expect(p >= 0 && p <= 1)
        }
        #expect(ColdStartEstimate(coldAfterPriorMs: -5).probability(gapMs: 0, probe: nil) == 1)
    }
}
