// SPDX-License-Identifier: Apache-2.0
// One loop's metrics: a usage sink that counts each finished request into plain stored
// properties, and the attempts in flight. Loop-confined like everything else on the loop —
// no atomics, no locks on the request path (the scrape asks each loop for a snapshot on its
// own thread and merges them: Prometheus' "collect at scrape time" model).
//
// Names are interned per loop into small integer ids (0 is ""); the ids never change while
// the loop lives (a reload only adds names), and the snapshot turns them back into names.
// Counting a request costs one hash (its model × backend × user series, which holds its
// status counts and its spend) — the label lookups mostly hit a one-entry cache, since a
// loop's traffic repeats the same few names (measured: Hasher was ~40 % of the cost).

import TollgateCore

public final class LoopMetrics: UsageSink {
    /// The running plan's names and prices; replaced on reload (on this loop).
    public var plan: MetricsPlan {
        didSet { adopt(plan) }
    }

    private struct SeriesKey: Hashable {
        var model: Int32, backend: Int32, user: Int32

        func hash(into hasher: inout Hasher) {
            hasher.combine(UInt64(UInt32(bitPattern: model)) << 32 | UInt64(UInt32(bitPattern: backend)))
            hasher.combine(user)
        }
    }

    /// One model × backend × user: its requests by status and, once one reached a backend,
    /// its spend.
    private struct Series {
        /// Few entries (a handful of statuses), searched linearly.
        var codes: [(code: Int32, count: Int64)] = []
        var spend: SpendTotals?

        mutating func count(_ code: Int32) {
            for index in codes.indices where codes[index].code == code {
                codes[index].count &+= 1
                return
            }
            codes.append((code, 1))
        }
    }

    /// Every name this loop ever counted under, by id (index); 0 is "".
    private var modelNames = [""], backendNames = [""], userNames = [""]
    private var modelIDs = Interned(), backendIDs = Interned(), userIDs = Interned()
    private var planModels = PlanNames(), planBackends = PlanNames(), planUsers = PlanNames()

    private var series: [SeriesKey: Series] = [:]
    /// By model id / backend id.
    private var duration: [LatencyHistogram] = [LatencyHistogram()]
    private var ttfb: [LatencyHistogram] = [LatencyHistogram()]
    private var inflight: [Int] = [0]
    /// This month's cost by backend id, and the month (a span, so a record needs no calendar
    /// arithmetic).
    private var monthCost: [MicroDollars] = [.zero]
    private var month: UTCMonth?

    public init(plan: MetricsPlan) {
        self.plan = plan
        adopt(plan)
    }

    public func record(_ record: UsageRecord) {
        let model = planModels.id(of: record.model)
        let backend = planBackends.id(of: record.backend)
        let user = planUsers.id(of: record.user)
        let reached = record.backend != nil
        let (gpu, cost) = (record.gpu, record.cost)
        modify(&series[SeriesKey(model: model, backend: backend, user: user), default: Series()]) { entry in
            entry.count(Int32(clamping: record.status))
            // Only requests that reached a backend used or cost anything: the rest (401,
            // 404, …) would add zero series.
            if reached { entry.spend = (entry.spend ?? SpendTotals()) + SpendTotals(gpu: gpu, cost: cost) }
        }
        duration[Int(model)].observe(seconds: record.latencyMs / 1000)
        guard reached else { return }
        if let seconds = record.upstreamTTFBMs { ttfb[Int(backend)].observe(seconds: seconds / 1000) }
        addToMonth(backend: Int(backend), cost: record.cost, at: record.timestamp)
    }

    private func addToMonth(backend: Int, cost: MicroDollars, at seconds: Double) {
        let ms = UTCMonth.milliseconds(seconds)
        if let month, month.contains(ms) {
            monthCost[backend] += cost
            return
        }
        let next = UTCMonth(containing: ms)
        // A request that started before the month turned, ending after another one was
        // already counted in the new month, belongs to a month whose figures are gone.
        if let month, next < month { return }
        month = next
        for index in monthCost.indices { monthCost[index] = .zero }
        monthCost[backend] = cost
    }

    /// An upstream attempt on `backend` started (`tollgate_backend_inflight`).
    public func attemptStarted(backend: String) {
        inflight[inflightID(of: backend)] &+= 1
    }

    /// …and ended (exactly once per start). Both by the loop's own ids, so an attempt of a
    /// request that began before a reload is counted out where it was counted in.
    public func attemptEnded(backend: String) {
        inflight[inflightID(of: backend)] &-= 1
    }

    /// The last backend counted in or out, and its id: a loop's attempts mostly go to the same
    /// backend, and the name is the plan's own String, so the compare is usually a pointer's
    /// (hashing the name was two hashes a request). Ids never change, so the cache never goes
    /// stale; an id is always below `inflight.count` (`adopt` grows it with every name).
    private var lastInflightName = ""
    private var lastInflightID = 0

    private func inflightID(of backend: String) -> Int {
        if backend == lastInflightName { return lastInflightID }
        let id = Int(backendIDs.ids[backend] ?? 0)
        (lastInflightName, lastInflightID) = (backend, id)
        return id
    }

    /// The counts so far, by name (the loop goes on counting into its own).
    public func snapshot() -> MetricsSnapshot {
        var out = MetricsSnapshot()
        for (key, entry) in series {
            let (model, backend, user) = (modelNames[Int(key.model)], backendNames[Int(key.backend)], userNames[Int(key.user)])
            for (code, count) in entry.codes {
                out.requests[RequestSeries(model: model, backend: backend, user: user, code: Int(code))] = count
            }
            if let spend = entry.spend { out.spend[SpendSeries(model: model, backend: backend, user: user)] = spend }
        }
        for (id, histogram) in duration.enumerated() where histogram.count > 0 { out.duration[modelNames[id]] = histogram }
        for (id, histogram) in ttfb.enumerated() where histogram.count > 0 { out.ttfb[backendNames[id]] = histogram }
        for (id, count) in inflight.enumerated() where count != 0 { out.inflight[backendNames[id]] = count }
        if let month {
            var costs: [String: MicroDollars] = [:]
            for (id, cost) in monthCost.enumerated() where cost != .zero { costs[backendNames[id]] = cost }
            out.mergeMonth(month, costs)
        }
        return out
    }

    /// Interns the plan's names (ids only ever added) and makes them the label guard.
    private func adopt(_ plan: MetricsPlan) {
        planModels = PlanNames(modelIDs.intern(plan.modelNames, into: &modelNames))
        planBackends = PlanNames(backendIDs.intern(plan.backends.map(\.name), into: &backendNames))
        // Without the user label every user counts as "".
        planUsers = PlanNames(plan.userLabel ? userIDs.intern(plan.userNames, into: &userNames) : [:])
        while duration.count < modelNames.count { duration.append(LatencyHistogram()) }
        while ttfb.count < backendNames.count { ttfb.append(LatencyHistogram()) }
        while inflight.count < backendNames.count { inflight.append(0) }
        while monthCost.count < backendNames.count { monthCost.append(.zero) }
    }

    /// The running plan's names → ids (the label guard: a name not here counts as ""), with
    /// the last name looked up: comparing two short strings is much cheaper than hashing one.
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

/// Mutates a value in place (a dictionary's entry through its `default:` subscript, without a
/// second lookup).
@inline(__always)
private func modify<Value>(_ value: inout Value, _ body: (inout Value) -> Void) {
    body(&value)
}
