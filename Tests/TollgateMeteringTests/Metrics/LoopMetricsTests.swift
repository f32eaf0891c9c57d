// SPDX-License-Identifier: Apache-2.0
// Per-loop histograms and in-flight counts, the merge of two loops' snapshots, the label guard
// (only configured names become label values); the counters that sum the usage log as the
// writer commits them (CommittedUsage) and as they are written out: exact money (integers
// summed, printed from micro-dollars), the month turning, the user label.
import Testing
import TollgateCore
@testable import TollgateMetering

struct LoopMetricsTests {
    static let plan = MetricsPlan(
        backends: [.init(name: "sim", costModel: .perSecond(perSecond: MicroDollars(100_000))),
                   .init(name: "box", costModel: .alwaysOn(perHour: MicroDollars(3_600_000)))],
        models: ["m", "n"], users: ["alice", "bob"])
    /// 2024-02-10T00:00:00Z.
    static let february10: Double = 1_707_523_200

    static func record(model: String?, backend: String?, user: String?, status: Int = 200, cost: Int64 = 0,
                       gpuMs: Int64 = 0, latencyMs: Double = 12, ttfbMs: Double? = nil, at ts: Double = february10) -> UsageRecord {
        var ids = RequestIDGenerator()
        var record = UsageRecord(id: ids.next(), clientRequestID: nil, timestamp: ts, method: "POST",
                                 path: "/v1/chat/completions", status: status, latencyMs: latencyMs, bytesIn: 0, bytesOut: 0)
        record.model = model
        record.task = model == nil ? nil : "chat"
        record.backend = backend
        record.user = user
        record.cost = MicroDollars(cost)
        record.gpu = MilliGPUSeconds(gpuMs)
        record.upstreamTTFBMs = ttfbMs
        return record
    }

    /// What the writer adds once `records` are committed: their rollups, as UsageStore sums them.
    static func committed(_ records: [UsageRecord]) -> MetricsSnapshot {
        var rollups: [DailyKey: DailySums] = [:]
        for r in records {
            let key = DailyKey(day: CivilDate(unixSeconds: Int64(r.timestamp.rounded(.down))).text, user: r.user ?? "",
                               model: UsageStore.rollupModel(of: r), backend: r.backend ?? "", status: r.status)
            rollups[key, default: DailySums()].add(r)
        }
        let usage = CommittedUsage()
        usage.add(rollups)
        return usage.snapshot()
    }

    static func series(_ text: String, _ prefix: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
    }

    @Test func twoLoopsMergeToWhatOneLoopWouldHaveObserved() {
        var records: [UsageRecord] = []
        for i in 0..<20 {
            let model = i % 3 == 0 ? "n" : "m"
            let backend: String? = i % 4 == 0 ? nil : "sim"
            records.append(Self.record(model: model, backend: backend, user: "alice", latencyMs: Double(i) * 7, ttfbMs: Double(i)))
        }
        let one = LoopMetrics(plan: Self.plan)
        let (a, b) = (LoopMetrics(plan: Self.plan), LoopMetrics(plan: Self.plan))
        for (index, record) in records.enumerated() {
            one.record(record)
            (index % 3 == 0 ? a : b).record(record)
        }
        a.attemptStarted(backend: "sim")
        b.attemptStarted(backend: "sim")
        b.attemptStarted(backend: "sim")
        b.attemptEnded(backend: "sim")
        var merged = a.snapshot()
        merged.merge(b.snapshot())
        let whole = one.snapshot()
        // Counts exactly; sums of Doubles up to the order of addition.
        for (name, merged, whole) in [("duration", merged.duration, whole.duration), ("ttfb", merged.ttfb, whole.ttfb)] {
            #expect(merged.keys.sorted() == whole.keys.sorted(), "\(name)")
            for (key, histogram) in whole {
                #expect(merged[key]?.counts == histogram.counts, "\(name) \(key)")
                #expect(abs((merged[key]?.sum ?? -1) - histogram.sum) < 1e-9, "\(name) \(key)")
            }
        }
        #expect(merged.duration.values.map(\.count).reduce(0, +) == 20)
        // Only requests that reached a backend have an upstream first byte.
        #expect(merged.ttfb.values.map(\.count).reduce(0, +) == 15)
        #expect(merged.inflight == ["sim": 2])
        // The loops count none of the usage log's sums: the writer does, as it commits.
        #expect(merged.requests.isEmpty && merged.spend.isEmpty && merged.month == nil)
    }

    @Test func aSnapshotIsACopyTheLoopGoesOnFrom() {
        let loop = LoopMetrics(plan: Self.plan)
        loop.record(Self.record(model: "m", backend: "sim", user: "alice"))
        let before = loop.snapshot()
        loop.record(Self.record(model: "m", backend: "sim", user: "alice"))
        #expect(before.duration["m"]?.count == 1)
        #expect(loop.snapshot().duration["m"]?.count == 2)
    }

    /// A client inventing model names (or a backend unknown to the plan) adds no series.
    @Test func namesTheRunningPlanDoesNotKnowBecomeEmptyLabels() {
        let loop = LoopMetrics(plan: Self.plan)
        for i in 0..<1_000 {
            loop.record(Self.record(model: "invented-\(i)", backend: "nowhere-\(i)", user: "mallory-\(i)", status: 404, ttfbMs: 1))
        }
        let snapshot = loop.snapshot()
        #expect(snapshot.duration.keys.sorted() == [""])
        #expect(snapshot.ttfb.keys.sorted() == [""])
        // …nor do the committed sums, once relabeled by the plan (rows keep what was sent).
        let relabeled = Self.committed((0..<100).map {
            Self.record(model: "invented-\($0)", backend: nil, user: "mallory-\($0)", status: 404)
        }).relabeled(by: Self.plan)
        #expect(relabeled.requests == [RequestSeries(model: "", backend: "", user: "", code: 404): 100])
    }

    @Test func withoutTheUserLabelUsersAreLeftOut() {
        let plan = MetricsPlan(backends: Self.plan.backends, models: ["m"], users: ["alice"], userLabel: false)
        let counts = Self.committed([Self.record(model: "m", backend: "sim", user: "alice", cost: 5)])
        let text = MetricsExposition(plan: plan, counts: counts, nowMs: Int64(Self.february10 * 1000)).render()
        #expect(!text.contains("user="))
        #expect(!text.contains("alice"))
        #expect(Self.series(text, "tollgate_requests_total{") == [#"tollgate_requests_total{model="m",backend="sim",code="200"} 1"#])
    }

    /// Three requests at $0.1 each are $0.3 exactly: integers summed, never 0.30000000000000004.
    @Test func moneyIsSummedInMicroDollarsAndPrintedExactly() {
        var records = (0..<3).map { _ in Self.record(model: "m", backend: "sim", user: "alice", cost: 100_000, gpuMs: 1_001) }
        records.append(Self.record(model: "m", backend: "sim", user: "bob", cost: 190, gpuMs: 1))
        let text = MetricsExposition(plan: Self.plan, counts: Self.committed(records), nowMs: Int64(Self.february10 * 1000)).render()
        #expect(Self.series(text, "tollgate_spend_usd_total{") == [
            #"tollgate_spend_usd_total{model="m",backend="sim",user="alice"} 0.3"#,
            #"tollgate_spend_usd_total{model="m",backend="sim",user="bob"} 0.00019"#,
        ])
        #expect(Self.series(text, "tollgate_gpu_seconds_total{").first == #"tollgate_gpu_seconds_total{model="m",backend="sim",user="alice"} 3.003"#)
        #expect(Self.series(text, "tollgate_backend_attributed_usd_total{") == [
            #"tollgate_backend_attributed_usd_total{backend="sim"} 0.30019"#, #"tollgate_backend_attributed_usd_total{backend="box"} 0"#,
        ])
        // A per-use backend bills what its requests cost.
        #expect(Self.series(text, "tollgate_backend_billed_usd_total{backend=\"sim\"}") == [#"tollgate_backend_billed_usd_total{backend="sim"} 0.30019"#])
        #expect(Self.series(text, "tollgate_spend_month_usd ") == ["tollgate_spend_month_usd 0.30019"])
    }

    @Test func theMonthFiguresStartAgainWhenTheMonthTurns() {
        let march1 = 1_709_251_200.0  // 2024-03-01T00:00:00Z
        // One committed batch that spans the turn: its March rollup wins the month figures.
        let snapshot = Self.committed([
            Self.record(model: "m", backend: "sim", user: "alice", cost: 500, at: march1 - 0.001),
            Self.record(model: "m", backend: "sim", user: "alice", cost: 7, at: march1),
            Self.record(model: "m", backend: "sim", user: "alice", cost: 1_000, at: march1 - 5),
        ])
        #expect(snapshot.month == UTCMonth(year: 2024, month: 3))
        #expect(snapshot.monthCost == ["sim": MicroDollars(7)])
        #expect(snapshot.spend.values.first?.cost == MicroDollars(1_507))
        // A later batch of February (a slow request) merges under March's figures without adding to them.
        var merged = snapshot
        merged.merge(Self.committed([Self.record(model: "m", backend: "sim", user: "alice", cost: 40, at: march1 - 60)]))
        #expect(merged.monthCost == ["sim": MicroDollars(7)])
        var reversed = Self.committed([Self.record(model: "m", backend: "sim", user: "alice", cost: 40, at: march1 - 60)])
        reversed.merge(snapshot)
        #expect(reversed.monthCost == ["sim": MicroDollars(7)])
    }

    @Test func inflightGoesUpAndDownPerBackend() {
        let loop = LoopMetrics(plan: Self.plan)
        loop.attemptStarted(backend: "sim")
        loop.attemptStarted(backend: "box")
        loop.attemptEnded(backend: "sim")
        let text = MetricsExposition(plan: Self.plan, counts: loop.snapshot(), nowMs: 0).render()
        #expect(Self.series(text, "tollgate_backend_inflight{") == [
            #"tollgate_backend_inflight{backend="sim"} 0"#, #"tollgate_backend_inflight{backend="box"} 1"#,
        ])
    }
}

struct LoopMetricsReloadTests {
    /// A reload that drops a model keeps what was observed; the exposition folds the dropped
    /// name into "", and an attempt begun before the reload is counted out where it was
    /// counted in.
    @Test func aReloadKeepsTheCountsAndTheLabelGuardFollowsThePlan() {
        let before = MetricsPlan(backends: [.init(name: "sim", costModel: .free)], models: ["m"], users: ["alice"])
        let after = MetricsPlan(backends: [.init(name: "other", costModel: .free)], models: ["n"], users: ["alice"])
        let loop = LoopMetrics(plan: before)
        loop.record(LoopMetricsTests.record(model: "m", backend: "sim", user: "alice"))
        loop.attemptStarted(backend: "sim")
        loop.plan = after
        loop.record(LoopMetricsTests.record(model: "n", backend: "other", user: "alice"))
        loop.record(LoopMetricsTests.record(model: "m", backend: "sim", user: "alice"))
        loop.attemptEnded(backend: "sim")
        let snapshot = loop.snapshot()
        #expect(snapshot.duration.mapValues(\.count) == ["m": 1, "n": 1, "": 1])
        #expect(snapshot.inflight.isEmpty)
        let text = MetricsExposition(plan: after, counts: snapshot, nowMs: 0).render()
        #expect(LoopMetricsTests.series(text, "tollgate_request_duration_seconds_count{") == [
            #"tollgate_request_duration_seconds_count{model=""} 2"#,
            #"tollgate_request_duration_seconds_count{model="n"} 1"#,
        ])
    }
}
