// SPDX-License-Identifier: Apache-2.0
// The expected-run moving average: seeding, convergence, and no trap at the extremes.
import Testing
import TollgateRouting

struct RunTimeEstimateTests {
    @Test func startsAtThePriorAndSeedsFromTheUsageLog() {
        var estimate = RunTimeEstimate(priorMs: 1_000)
        #expect(estimate.valueMs == 1_000)
        estimate.seed(meanMs: 4_000, count: 0)
        #expect(estimate.valueMs == 1_000)
        estimate.seed(meanMs: 4_000, count: 12)
        #expect(estimate.valueMs == 4_000)
        #expect(RunTimeEstimate(priorMs: -3).valueMs == 0)
    }

    @Test func movesAFifthOfTheWayPerSample() {
        var estimate = RunTimeEstimate(priorMs: 1_000)
        estimate.record(sampleMs: 2_000)
        #expect(estimate.valueMs == 1_200)
        estimate.record(sampleMs: 200)
        #expect(estimate.valueMs == 1_000)
        #expect(RunTimeEstimate.next(current: 1_000, sample: 1_003) == 1_001)  // 0.6 rounds up
        #expect(RunTimeEstimate.next(current: 1_000, sample: 1_002) == 1_000)  // 0.4 rounds down
        #expect(RunTimeEstimate.next(current: 1_000, sample: 997) == 999)
    }

    @Test func convergesOnASteadySample() {
        var estimate = RunTimeEstimate(priorMs: 1_000)
        var previous = estimate.valueMs
        for _ in 0..<60 {
            estimate.record(sampleMs: 30_000)
            #expect(estimate.valueMs >= previous)  // monotone towards the sample, never past it
            #expect(estimate.valueMs <= 30_000)
            previous = estimate.valueMs
        }
        #expect(abs(estimate.valueMs - 30_000) <= 2)
        for _ in 0..<60 { estimate.record(sampleMs: 10) }
        #expect(abs(estimate.valueMs - 10) <= 2)
    }

    @Test func extremesNeitherTrapNorGoNegative() {
        #expect(RunTimeEstimate.next(current: .max, sample: .max) == .max)
        #expect(RunTimeEstimate.next(current: 0, sample: .max) == Int64.max / 5)  // remainder 2 rounds down
        #expect(RunTimeEstimate.next(current: .max, sample: .min) >= 0)
        #expect(RunTimeEstimate.next(current: .min, sample: .max) >= 0)
        #expect(RunTimeEstimate.next(current: .min, sample: .min) == 0)
        var estimate = RunTimeEstimate(priorMs: .max)
        estimate.record(sampleMs: -1)
        #expect(estimate.valueMs > 0 && estimate.valueMs < .max)
    }
}
