// SPDX-License-Identifier: Apache-2.0
// Per-loop counting, the merge of two loops' snapshots, the label guard (only configured names
// become label values) and exact money (integers summed, printed from micro-dollars).
import Testing
import TollgateCore
import TollgateMetering

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
        record.backend = backend
        record.user = user
        record.cost = MicroDollars(cost)
        record.gpu = MilliGPUSeconds(gpuMs)
        record.upstreamTTFBMs = ttfbMs
        return record
    }

    static func series(_ text: String, _ prefix: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
    }

    @Test func twoLoopsMergeToWhatOneLoopWouldHaveCounted() {
        var records: [UsageRecord] = []
        for i in 0..<20 {
            let model = i % 3 == 0 ? "n" : "m"
            let backend: String? = i % 4 == 0 ? nil : "sim"
            let user = i % 2 == 0 ? "alice" : "bob"
            let status = i % 5 == 0 ? 502 : 200
            records.append(Self.record(model: model, backend: backend, user: user, status: status, cost: Int64(100_000 + i),
                                       gpuMs: Int64(1_000 + i), latencyMs: Double(i) * 7, ttfbMs: Double(i)))
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
        #expect(merged.requests == whole.requests)
        #expect(merged.spend == whole.spend)
        // Counts exactly; sums of Doubles up to the order of addition.
        for (name, merged, whole) in [("duration", merged.duration, whole.duration), ("ttfb", merged.ttfb, whole.ttfb)] {
            #expect(merged.keys.sorted() == whole.keys.sorted(), "\(name)")
            for (key, histogram) in whole {
                #expect(merged[key]?.counts == histogram.counts, "\(name) \(key)")
                #expect(abs((merged[key]?.sum ?? -1) - histogram.sum) < 1e-9, "\(name) \(key)")
            }
        }
        #expect(merged.monthCost == whole.monthCost)
        #expect(merged.inflight == ["sim": 2])
        #expect(merged.requests.values.reduce(0, +) == 20)
    }

    @Test func aSnapshotIsACopyTheLoopGoesOnFrom() {
        let loop = LoopMetrics(plan: Self.plan)
        loop.record(Self.record(model: "m", backend: "sim", user: "alice"))
        let before = loop.snapshot()
        loop.record(Self.record(model: "m", backend: "sim", user: "alice"))
        #expect(before.requests.values.reduce(0, +) == 1)
        #expect(loop.snapshot().requests.values.reduce(0, +) == 2)
    }

    /// A client inventing model names (or a user unknown to the plan) adds no series.
    @Test func namesTheRunningPlanDoesNotKnowBecomeEmptyLabels() {
        let loop = LoopMetrics(plan: Self.plan)
        for i in 0..<1_000 {
            loop.record(Self.record(model: "invented-\(i)", backend: "nowhere-\(i)", user: "mallory-\(i)", status: 404))
        }
        let snapshot = loop.snapshot()
        #expect(snapshot.requests == [RequestSeries(model: "", backend: "", user: "", code: 404): 1_000])
        #expect(snapshot.duration.keys.sorted() == [""])
        #expect(snapshot.spend.count == 1)
    }

    @Test func withoutTheUserLabelUsersAreLeftOut() {
        let plan = MetricsPlan(backends: Self.plan.backends, models: ["m"], users: ["alice"], userLabel: false)
        let loop = LoopMetrics(plan: plan)
        loop.record(Self.record(model: "m", backend: "sim", user: "alice", cost: 5))
        let text = MetricsExposition(plan: plan, counts: loop.snapshot(), nowMs: Int64(Self.february10 * 1000)).render()
        #expect(!text.contains("user="))
        #expect(!text.contains("alice"))
        #expect(Self.series(text, "tollgate_requests_total{") == [#"tollgate_requests_total{model="m",backend="sim",code="200"} 1"#])
    }

    /// Three requests at $0.1 each are $0.3 exactly: integers summed, never 0.30000000000000004.
    @Test func moneyIsSummedInMicroDollarsAndPrintedExactly() {
        let loop = LoopMetrics(plan: Self.plan)
        for _ in 0..<3 { loop.record(Self.record(model: "m", backend: "sim", user: "alice", cost: 100_000, gpuMs: 1_001)) }
        loop.record(Self.record(model: "m", backend: "sim", user: "bob", cost: 190, gpuMs: 1))
        let text = MetricsExposition(plan: Self.plan, counts: loop.snapshot(), nowMs: Int64(Self.february10 * 1000)).render()
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
        let loop = LoopMetrics(plan: Self.plan)
        let march1 = 1_709_251_200.0  // 2024-03-01T00:00:00Z
        loop.record(Self.record(model: "m", backend: "sim", user: "alice", cost: 500, at: march1 - 0.001))
        loop.record(Self.record(model: "m", backend: "sim", user: "alice", cost: 7, at: march1))
        // A request that started in February and ends now counts in February's figures.
        loop.record(Self.record(model: "m", backend: "sim", user: "alice", cost: 1_000, at: march1 - 5))
        let snapshot = loop.snapshot()
        #expect(snapshot.month == UTCMonth(year: 2024, month: 3))
        #expect(snapshot.monthCost == ["sim": MicroDollars(7)])
        #expect(snapshot.spend.values.first?.cost == MicroDollars(1_507))
        // Another loop still on February merges under March's figures without adding to them.
        var merged = snapshot
        let februaryLoop = LoopMetrics(plan: Self.plan)
        februaryLoop.record(Self.record(model: "m", backend: "sim", user: "alice", cost: 40, at: march1 - 60))
        merged.merge(februaryLoop.snapshot())
        #expect(merged.monthCost == ["sim": MicroDollars(7)])
        var reversed = februaryLoop.snapshot()
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
    /// A reload that drops a model keeps what was counted (counters never go back); the
    /// exposition folds the dropped name into "", and an attempt begun before the reload is
    /// counted out where it was counted in.
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
        #expect(snapshot.requests == [
            RequestSeries(model: "m", backend: "sim", user: "alice", code: 200): 1,
            RequestSeries(model: "n", backend: "other", user: "alice", code: 200): 1,
            RequestSeries(model: "", backend: "", user: "alice", code: 200): 1,
        ])
        #expect(snapshot.inflight.isEmpty)
        let text = MetricsExposition(plan: after, counts: snapshot, nowMs: 0).render()
        #expect(LoopMetricsTests.series(text, "tollgate_requests_total{") == [
            #"tollgate_requests_total{model="",backend="",user="alice",code="200"} 2"#,
            #"tollgate_requests_total{model="n",backend="other",user="alice",code="200"} 1"#,
        ])
    }
}
