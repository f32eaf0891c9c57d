// SPDX-License-Identifier: Apache-2.0
// SPEC §6: counters that sum the usage log are seeded from SQLite at start-up, so a restart
// does not zero them. Read once, on a connection of its own, before the gateway listens: the
// all-time sums from the daily rollups (never pruned), the uptime of always-on backends from
// `backend_uptime`, and this month's figures for the month gauges. A missing database is a
// first start: zero seeds.
import Glibc
public import TollgateCore

public struct MetricsSeed: Sendable {
    /// requests_total, gpu_seconds_total, spend_usd_total and this month's cost by backend.
    public var counts = MetricsSnapshot()
    /// Uptime cost of earlier runs per always-on backend, all time.
    public var uptimeTotal: [String: MicroDollars] = [:]
    /// …and within `uptimeMonth`'s month (`uptimeMonthOf`).
    public var uptimeMonth: [String: MicroDollars] = [:]
    public var uptimeMonthOf: UTCMonth?

    public init() {}

    public static let empty = MetricsSeed()

    /// The seeds in the database at `path` as of `nowMs` (unix milliseconds). A missing file
    /// gives empty seeds and no problem; an unreadable one empty seeds and what went wrong.
    public static func load(path: String, nowMs: Int64) -> (seed: MetricsSeed, problem: String?) {
        guard access(path, F_OK) == 0 else { return (.empty, nil) }
        do {
            return (try read(path: path, nowMs: nowMs), nil)
        } catch {
            return (.empty, "cannot seed the metrics from \(path): \(error)")
        }
    }

    /// Reads the seeds (the schema of the metering contract: `usage_daily` with `status` in its
    /// key, `backend_uptime`).
    public static func read(path: String, nowMs: Int64) throws(SQLiteError) -> MetricsSeed {
        let db = try SQLiteConnection(path: path, create: false)
        var seed = MetricsSeed()
        // The same sums the writer adds as it commits (CommittedUsage), all time.
        let rollups = try db.prepare("""
            SELECT user, model, backend, status, SUM(requests), SUM(gpu_ms), SUM(cost_microdollars)
            FROM usage_daily GROUP BY user, model, backend, status
            """)
        while try rollups.step() {
            seed.counts.addRollup(user: rollups.text(at: 0) ?? "", model: rollups.text(at: 1) ?? "",
                                  backend: rollups.text(at: 2) ?? "", status: Int(clamping: rollups.int64(at: 3)),
                                  requests: rollups.int64(at: 4), gpu: MilliGPUSeconds(rollups.int64(at: 5)),
                                  cost: MicroDollars(rollups.int64(at: 6)))
        }
        let month = UTCMonth(containing: nowMs)
        let next = UTCMonth(containing: month.endMs)
        let monthly = try db.prepare(
            "SELECT backend, SUM(cost_microdollars) FROM usage_daily WHERE day >= ?1 AND day < ?2 AND backend != '' GROUP BY backend")
        try monthly.bind(month.firstDayText, at: 1)
        try monthly.bind(next.firstDayText, at: 2)
        var costs: [String: MicroDollars] = [:]
        while try monthly.step() {
            costs[monthly.text(at: 0) ?? "", default: .zero] += MicroDollars(monthly.int64(at: 1))
        }
        seed.counts.mergeMonth(month, costs)
        let uptime = try db.prepare("SELECT backend, per_hour_microdollars, started, last_seen FROM backend_uptime")
        while try uptime.step() {
            let backend = uptime.text(at: 0) ?? ""
            let model = CostModel.alwaysOn(perHour: MicroDollars(uptime.int64(at: 1)))
            let started = UTCMonth.milliseconds(uptime.double(at: 2))
            let lastSeen = UTCMonth.milliseconds(uptime.double(at: 3))
            seed.uptimeTotal[backend, default: .zero] += model.uptimeCost(milliseconds: lastSeen &- started)
            let inMonth = min(lastSeen, month.endMs) &- max(started, month.startMs)
            seed.uptimeMonth[backend, default: .zero] += model.uptimeCost(milliseconds: inMonth)
        }
        seed.uptimeMonthOf = month
        return seed
    }
}
