// SPDX-License-Identifier: Apache-2.0
// One loop's metrics: a usage sink that observes each finished request's duration and its
// upstream's first byte into histograms, and counts the attempts in flight. Loop-confined like
// everything else on the loop — no atomics, no locks on the request path (the scrape asks each
// loop for a snapshot on its own thread and merges them: Prometheus' "collect at scrape time").
// The counters that sum the usage log (requests, GPU-seconds, spend) are not counted here but
// by the writer as it commits (CommittedUsage), so they always equal the log.
//
// Names are interned per loop into small integer ids (0 is ""); the ids never change while
// the loop lives (a reload only adds names), and the snapshot turns them back into names.
// The label lookups mostly hit a one-entry cache, since a loop's traffic repeats the same few
// names.

import TollgateCore

public final class LoopMetrics: UsageSink {
    /// The running plan's names and prices; replaced on reload (on this loop).
    public var plan: MetricsPlan {
        didSet { adopt(plan) }
    }

    /// Every name this loop ever counted under, by id (index); 0 is "".
    private var modelNames = [""], backendNames = [""]
    private var modelIDs = Interned(), backendIDs = Interned()
    private var planModels = PlanNames(), planBackends = PlanNames()
    /// Every backend interned so far (not only the plan's), for the in-flight counts: a loop's
    /// attempts mostly go to the same backend, so the lookup is usually the cache's compare.
    /// Ids never change, so an id is always below `inflight.count` (`adopt` grows it).
    private var everyBackend = PlanNames()

    /// By model id / backend id.
    private var duration: [LatencyHistogram] = [LatencyHistogram()]
    private var ttfb: [LatencyHistogram] = [LatencyHistogram()]
    private var inflight: [Int] = [0]

    public init(plan: MetricsPlan) {
        self.plan = plan
        adopt(plan)
    }

    public func record(_ record: UsageRecord) {
        duration[Int(planModels.id(of: record.model))].observe(seconds: record.latencyMs / 1000)
        guard record.backend != nil, let seconds = record.upstreamTTFBMs else { return }
        ttfb[Int(planBackends.id(of: record.backend))].observe(seconds: seconds / 1000)
    }

    /// An upstream attempt on `backend` started (`tollgate_backend_inflight`).
    public func attemptStarted(backend: String) {
        inflight[Int(everyBackend.id(of: backend))] &+= 1
    }

    /// …and ended (exactly once per start). Both by the loop's own ids, so an attempt of a
    /// request that began before a reload is counted out where it was counted in.
    public func attemptEnded(backend: String) {
        inflight[Int(everyBackend.id(of: backend))] &-= 1
    }

    /// The histograms and in-flight counts so far, by name (the loop goes on counting into its own).
    public func snapshot() -> MetricsSnapshot {
        var out = MetricsSnapshot()
        for (id, histogram) in duration.enumerated() where histogram.count > 0 { out.duration[modelNames[id]] = histogram }
        for (id, histogram) in ttfb.enumerated() where histogram.count > 0 { out.ttfb[backendNames[id]] = histogram }
        for (id, count) in inflight.enumerated() where count != 0 { out.inflight[backendNames[id]] = count }
        return out
    }

    /// Interns the plan's names (ids only ever added) and makes them the label guard.
    private func adopt(_ plan: MetricsPlan) {
        planModels = PlanNames(modelIDs.intern(plan.modelNames, into: &modelNames))
        planBackends = PlanNames(backendIDs.intern(plan.backends.map(\.name), into: &backendNames))
        everyBackend = PlanNames(backendIDs.ids)
        while duration.count < modelNames.count { duration.append(LatencyHistogram()) }
        while ttfb.count < backendNames.count { ttfb.append(LatencyHistogram()) }
        while inflight.count < backendNames.count { inflight.append(0) }
    }

    /// Names → ids (for the plan's names, the label guard: a name not here counts as ""), with
    /// the last name looked up: comparing two short strings is much cheaper than hashing one
    /// (and the plan's own String usually compares by pointer).
    private struct PlanNames {
        private let ids: [String: Int32]
        private var lastName = ""
        private var lastID: Int32 = 0

        init(_ ids: [String: Int32] = [:]) { self.ids = ids }

        mutating func id(of name: String?) -> Int32 {
            guard let name else { return 0 }
            if name == lastName { return lastID }
            let id = ids[name] ?? 0
            (lastName, lastID) = (name, id)
            return id
        }
    }

    /// Name → id of every name interned so far.
    private struct Interned {
        var ids: [String: Int32] = ["": 0]

        /// The ids of `names`, new names appended to `table`.
        mutating func intern(_ names: [String], into table: inout [String]) -> [String: Int32] {
            var result: [String: Int32] = [:]
            for name in names where !name.isEmpty {
                if let id = ids[name] {
                    result[name] = id
                } else {
                    let id = Int32(table.count)
                    table.append(name)
                    ids[name] = id
                    result[name] = id
                }
            }
            return result
        }
    }
}
