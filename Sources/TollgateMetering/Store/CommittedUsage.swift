// SPDX-License-Identifier: Apache-2.0
// The counters of /metrics that sum the usage log (requests, GPU-seconds, spend, this month's
// cost by backend) count what the writer has committed, not what the loops have handed over:
// then a restart's seeds (the rollups) are exactly what the last scrape showed, also after a
// crash that lost the last uncommitted batch — a counter that came back lower would read as a
// reset to Prometheus, and `increase()` would count its whole value again. The writer adds
// each committed batch's rollup sums (one lock per batch, on the writer's thread); the scrape
// copies them. The request path does not count these at all.
import Synchronization
import TollgateCore

public final class CommittedUsage: Sendable {
    private let totals = Mutex(MetricsSnapshot())

    public init() {}

    /// The sums so far (requests, spend, month costs; no histograms).
    public func snapshot() -> MetricsSnapshot {
        totals.withLock { $0 }
    }

    /// Adds one committed batch's rollups.
    func add(_ rollups: [DailyKey: DailySums]) {
        guard !rollups.isEmpty else { return }
        var batch = MetricsSnapshot()
        for (key, sums) in rollups {
            batch.addRollup(user: key.user, model: key.model, backend: key.backend, status: key.status,
                            requests: sums.requests, gpu: MilliGPUSeconds(sums.gpuMs), cost: MicroDollars(sums.costMicrodollars))
            guard !key.backend.isEmpty else { continue }
            if let day = CivilDate(text: key.day) {
                batch.mergeMonth(UTCMonth(year: day.year, month: day.month), [key.backend: MicroDollars(sums.costMicrodollars)])
            }
        }
        totals.withLock { $0.merge(batch) }
    }
}
