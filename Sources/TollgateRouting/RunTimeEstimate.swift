// SPDX-License-Identifier: Apache-2.0
// The expected run of one (backend, model) pair (SPEC §4: "a moving average per (backend,
// model) that starts at `expected_run`"): an exponentially weighted moving average with
// α = 1/5, on integers. A fifth of each new sample moves the estimate, so one outlier shifts
// it by 20 % of the difference and a real change is mostly absorbed after ten requests.

public struct RunTimeEstimate: Sendable, Equatable {
    public private(set) var valueMs: Int64

    public init(priorMs: Int64) {
        self.valueMs = max(priorMs, 0)
    }

    /// Start from the usage log: the mean of `count` recent runs replaces the prior (count 0,
    /// or a negative count, keeps the prior).
    public mutating func seed(meanMs: Int64, count: Int) {
        guard count > 0 else { return }
        valueMs = max(meanMs, 0)
    }

    /// One measured run: negatives count as 0.
    public mutating func record(sampleMs: Int64) {
        valueMs = Self.next(current: valueMs, sample: sampleMs)
    }

    /// The same update as a pure function, for an atomic compare-exchange loop on a shared
    /// board. Both inputs are clamped to 0..., so `sample - current` cannot overflow and the
    /// result lies between them; the step is rounded to the nearest ms (truncation would leave
    /// the estimate stuck up to 4 ms away from a steady sample).
    public static func next(current: Int64, sample: Int64) -> Int64 {
        let current = max(current, 0)
        let difference = max(sample, 0) - current
        let (quotient, remainder) = difference.quotientAndRemainder(dividingBy: 5)
        var step = quotient
        if remainder >= 3 { step += 1 } else if remainder <= -3 { step -= 1 }
        return current + step
    }
}
