// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateMetering

struct LatencyHistogramTests {
    @Test func bucketsAreTheContractsFrom5msTo10Minutes() {
        #expect(LatencyHistogram.bounds == [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600])
        #expect(LatencyHistogram.boundLabels.count == LatencyHistogram.bounds.count + 1)
        #expect(LatencyHistogram.boundLabels.last == "+Inf")
        for (bound, label) in zip(LatencyHistogram.bounds, LatencyHistogram.boundLabels) {
            #expect(Double(label) == bound)
        }
    }

    /// `le` is "less than or equal": a value on a bound counts in that bucket.
    @Test func aValueOnABoundCountsInThatBucket() {
        var histogram = LatencyHistogram()
        histogram.observe(seconds: 0.005)
        histogram.observe(seconds: 600)
        histogram.observe(seconds: 600.001)
        #expect(histogram.counts[0] == 1)
        #expect(histogram.counts[15] == 1)
        #expect(histogram.counts[16] == 1)
        #expect(histogram.count == 3)
    }

    @Test func garbageCountsAsZeroAndNeverLowersTheSum() {
        var histogram = LatencyHistogram()
        histogram.observe(seconds: .nan)
        histogram.observe(seconds: -3)
        histogram.observe(seconds: .infinity)
        #expect(histogram.counts[0] == 2)
        #expect(histogram.counts[16] == 1)
        #expect(histogram.sum == 0)
    }

    @Test func mergeAddsEveryBucketAndTheSum() {
        var a = LatencyHistogram(), b = LatencyHistogram()
        a.observe(seconds: 0.02)
        b.observe(seconds: 0.02)
        b.observe(seconds: 3)
        a.merge(b)
        #expect(a.count == 3)
        #expect(a.counts[2] == 2)
        #expect(a.cumulativeCounts.last == 3)
        #expect(abs(a.sum - 3.04) < 1e-12)
    }
}
