// SPDX-License-Identifier: Apache-2.0
// The expected run of one (backend, model) pair (SPEC §4: a moving average that starts at
// `expected_run` and is seeded from the usage log), read on every routing decision and updated
// when a run ends. One atomic word, so neither costs a lock: the update is RunTimeEstimate's
// pure step in a compare-exchange loop.
import Synchronization
import TollgateRouting

final class RunEstimateCell: Sendable {
    private let value: Atomic<Int64>
    /// Runs measured by this gateway since start (the seed's are not counted).
    private let measured = Atomic<Int>(0)

    init(priorMs: Int64) {
        value = Atomic(max(0, priorMs))
    }

    var ms: Int64 { value.load(ordering: .relaxed) }
    var measuredRuns: Int { measured.load(ordering: .relaxed) }

    /// The usage log's mean of `count` recent runs replaces the prior (count 0 keeps it).
    func seed(meanMs: Int64, count: Int) {
        var estimate = RunTimeEstimate(priorMs: ms)
        estimate.seed(meanMs: meanMs, count: count)
        value.store(estimate.valueMs, ordering: .relaxed)
    }

    func record(sampleMs: Int64) {
        var current = value.load(ordering: .relaxed)
        while true {
            let next = RunTimeEstimate.next(current: current, sample: sampleMs)
            let (exchanged, original) = value.compareExchange(expected: current, desired: next, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
        measured.wrappingAdd(1, ordering: .relaxed)
    }
}
