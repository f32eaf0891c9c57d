// SPDX-License-Identifier: Apache-2.0
// Seeds from a real SQLite file with the usage log's schema (UsageSchema: usage_daily with status
// in its key, backend_uptime): the all-time counters, this month's figures and the uptime of
// earlier runs.
import Glibc
import Testing
import TollgateCore
import TollgateMetering

struct MetricsSeedTests {
    private final class TemporaryDirectory {
        let path: String
        init() {
            var template = Array("/tmp/tollgate-seed-XXXXXX".utf8CString)
            path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        }
        deinit {
            for name in ["usage.db", "usage.db-wal", "usage.db-shm"] { unlink(path + "/" + name) }
            rmdir(path)
        }
    }

    /// 2024-02-15T00:00:00Z.
    static let nowMs: Int64 = 1_707_955_200_000
    static let february1: Double = 1_706_745_600

    private static func database(_ dir: TemporaryDirectory) throws -> String {
        let path = dir.path + "/usage.db"
        let db = try SQLiteConnection(path: path)
        try UsageSchema.prepare(db)
        try db.execute("""
            INSERT INTO usage_daily (day, user, model, backend, status, requests, gpu_ms, cost_microdollars) VALUES
              ('2024-01-20', 'alice', 'm', 'sim', 200, 10, 5000, 100000),
              ('2024-02-03', 'alice', 'm', 'sim', 200, 3, 1500, 30000),
              ('2024-02-03', 'alice', 'm', 'sim', 502, 1, 0, 0),
              ('2024-02-04', '', '', '', 401, 7, 0, 0),
              ('2024-03-01', 'bob', 'm', 'sim', 200, 1, 10, 1);
            INSERT INTO backend_uptime VALUES
              ('run1', 'box', 1000000, \(february1 - 3600), \(february1 + 7200)),
              ('run2', 'box', 1000000, \(february1 + 86400), \(february1 + 86400 + 1800));
            """)
        return path
    }

    @Test func theCountersStartFromTheRollupsAndTheUptimeOfEarlierRuns() throws {
        let dir = TemporaryDirectory()
        let seed = try MetricsSeed.read(path: try Self.database(dir), nowMs: Self.nowMs)
        #expect(seed.counts.requests == [
            RequestSeries(model: "m", backend: "sim", user: "alice", code: 200): 13,
            RequestSeries(model: "m", backend: "sim", user: "alice", code: 502): 1,
            RequestSeries(model: "", backend: "", user: "", code: 401): 7,
            RequestSeries(model: "m", backend: "sim", user: "bob", code: 200): 1,
        ])
        #expect(seed.counts.spend == [
            SpendSeries(model: "m", backend: "sim", user: "alice"): SpendTotals(gpu: MilliGPUSeconds(6_500), cost: MicroDollars(130_000)),
            SpendSeries(model: "m", backend: "sim", user: "bob"): SpendTotals(gpu: MilliGPUSeconds(10), cost: MicroDollars(1)),
        ])
        // February only (not January, not March).
        #expect(seed.counts.month == UTCMonth(year: 2024, month: 2))
        #expect(seed.counts.monthCost == ["sim": MicroDollars(30_000)])
        // 3 h + 0.5 h at $1/h in all; of it 2 h + 0.5 h in February.
        #expect(seed.uptimeTotal == ["box": MicroDollars(3_500_000)])
        #expect(seed.uptimeMonth == ["box": MicroDollars(2_500_000)])
        #expect(seed.uptimeMonthOf == UTCMonth(year: 2024, month: 2))
    }

    @Test func aMissingDatabaseMeansZeroSeeds() {
        let dir = TemporaryDirectory()
        let (seed, problem) = MetricsSeed.load(path: dir.path + "/usage.db", nowMs: Self.nowMs)
        #expect(problem == nil)
        #expect(seed.counts.requests.isEmpty && seed.uptimeTotal.isEmpty)
        // Nothing was created by looking.
        #expect(access(dir.path + "/usage.db", F_OK) != 0)
    }

    @Test func anUnreadableDatabaseIsReportedWithZeroSeeds() throws {
        let dir = TemporaryDirectory()
        let db = try SQLiteConnection(path: dir.path + "/usage.db")
        try db.execute("CREATE TABLE other (x INTEGER)")
        let (seed, problem) = MetricsSeed.load(path: dir.path + "/usage.db", nowMs: Self.nowMs)
        #expect(problem?.contains("usage_daily") == true)
        #expect(seed.counts.requests.isEmpty)
    }

    /// A restart: the seeds plus what the new run's writer committed carry the old totals on.
    @Test func seededCountersCarryOnInTheExposition() throws {
        let dir = TemporaryDirectory()
        let seed = try MetricsSeed.read(path: try Self.database(dir), nowMs: Self.nowMs)
        let plan = MetricsPlan(backends: [.init(name: "sim", costModel: .perSecond(perSecond: MicroDollars(20))),
                                          .init(name: "box", costModel: .alwaysOn(perHour: MicroDollars(1_000_000)))],
                               models: ["m"], users: ["alice"])
        let record = LoopMetricsTests.record(model: "m", backend: "sim", user: "alice", cost: 5, at: Double(Self.nowMs) / 1000)
        var counts = seed.counts
        counts.merge(LoopMetricsTests.committed([record]))
        let text = MetricsExposition(plan: plan, counts: counts, uptimeTotal: seed.uptimeTotal, uptimeMonth: seed.uptimeMonth,
                                     nowMs: Self.nowMs).render()
        #expect(text.contains(#"tollgate_requests_total{model="m",backend="sim",user="alice",code="200"} 14"#))
        // bob is not in this plan: his seeded series folds into user "".
        #expect(text.contains(#"tollgate_requests_total{model="m",backend="sim",user="",code="200"} 1"#))
        #expect(text.contains(#"tollgate_spend_usd_total{model="m",backend="sim",user="alice"} 0.130005"#))
        #expect(text.contains(#"tollgate_backend_billed_usd_total{backend="box"} 3.5"#))
        #expect(text.contains("tollgate_spend_month_usd 0.030005\n"))
    }
}
