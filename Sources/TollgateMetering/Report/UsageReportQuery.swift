// SPDX-License-Identifier: Apache-2.0
// The reads behind `tollgate report`, on a read-only connection of its own (never the writer's):
// the period's totals, its rows grouped by --by, and for --what-if when each request ran. Every
// figure is summed from the exact integer columns (gpu_ms, cost_microdollars), so the report
// equals the sum of the response headers to the micro-dollar.
import Glibc
import TollgateCore

public final class UsageReportQuery {
    let path: String
    let db: SQLiteConnection
    /// `end_ts` (M9 contract) when the table has it; else the end is `ts + latency_ms`.
    let endExpression: String

    /// Opens `path` read-only: a report never creates, migrates or writes a database.
    public init(path: String) throws(UsageReportError) {
        self.path = path
        // SQLite's own "unable to open database file" does not say that the file is missing.
        guard access(path, F_OK) == 0 else { throw .missingDatabase(path: path) }
        let connection: SQLiteConnection
        let columns: Set<String>
        do {
            connection = try SQLiteConnection(path: path, readOnly: true, create: false)
            columns = try Self.columns(of: "requests", in: connection)
        } catch {
            throw .sqlite(path: path, error)
        }
        guard !columns.isEmpty else { throw .notAUsageLog(path: path) }
        db = connection
        endExpression = columns.contains("end_ts") ? "COALESCE(end_ts, ts + latency_ms / 1000.0)"
            : "(ts + latency_ms / 1000.0)"
    }

    /// The period's rows in one line.
    public func totals(in period: ReportPeriod) throws(UsageReportError) -> ReportFigures {
        try figures(select: "NULL", group: "", order: "", period: period).first ?? ReportFigures()
    }

    /// One line per group, most expensive first (days in calendar order).
    public func rows(in period: ReportPeriod, by grouping: ReportGrouping) throws(UsageReportError) -> [ReportFigures] {
        try figures(select: grouping.sqlExpression, group: "GROUP BY 1", order: "ORDER BY " + grouping.sqlOrder,
                    period: period)
    }

    /// The period's requests that reached a backend, as intervals with their GPU time.
    public func traffic(in period: ReportPeriod) throws(UsageReportError) -> WhatIfTraffic {
        let sql = "SELECT ts, \(endExpression), gpu_ms FROM requests WHERE ts >= ?1 AND ts < ?2 AND backend IS NOT NULL"
        var spans: [WhatIfTraffic.Span] = []
        do {
            let statement = try db.prepare(sql)
            try bind(period, to: statement)
            while try statement.step() {
                spans.append(WhatIfTraffic.Span(startMs: Self.milliseconds(statement.double(at: 0)),
                                                endMs: Self.milliseconds(statement.double(at: 1)),
                                                gpu: MilliGPUSeconds(max(0, statement.int64(at: 2)))))
            }
        } catch {
            throw .sqlite(path: path, error)
        }
        return WhatIfTraffic(spans: spans)
    }

    private func figures(select key: String, group: String, order: String,
                         period: ReportPeriod) throws(UsageReportError) -> [ReportFigures] {
        let sql = """
            SELECT \(key), COUNT(*) AS requests, COALESCE(SUM(status >= 400 OR error IS NOT NULL), 0), COALESCE(SUM(gpu_ms), 0),
                   COALESCE(SUM(cost_microdollars), 0) AS cost
            FROM requests WHERE ts >= ?1 AND ts < ?2 \(group) \(order)
            """
        var result: [ReportFigures] = []
        do {
            let statement = try db.prepare(sql)
            try bind(period, to: statement)
            while try statement.step() {
                result.append(ReportFigures(key: statement.text(at: 0), requests: statement.int64(at: 1),
                                            errors: statement.int64(at: 2), gpu: MilliGPUSeconds(statement.int64(at: 3)),
                                            cost: MicroDollars(statement.int64(at: 4))))
            }
        } catch {
            throw .sqlite(path: path, error)
        }
        return result
    }

    /// `ts` is unix seconds as REAL (SPEC §5): the bounds are bound the same way.
    private func bind(_ period: ReportPeriod, to statement: SQLiteStatement) throws(SQLiteError) {
        try statement.bind(Double(period.startMs) / 1_000, at: 1)
        try statement.bind(Double(period.endMs) / 1_000, at: 2)
    }

    /// Unix seconds (REAL) → milliseconds, rounded to the nearest; NaN or absurd values (a
    /// hand-edited row) become 0 or the cap, never a trap.
    static func milliseconds(_ seconds: Double) -> Int64 {
        guard seconds.isFinite else { return 0 }
        let ms = (seconds * 1_000).rounded()
        guard ms > -9.0e15, ms < 9.0e15 else { return ms < 0 ? -9_000_000_000_000_000 : 9_000_000_000_000_000 }
        return Int64(ms)
    }

    private static func columns(of table: String, in db: SQLiteConnection) throws(SQLiteError) -> Set<String> {
        let statement = try db.prepare("PRAGMA table_info(\(table))")
        var names: Set<String> = []
        while try statement.step() {
            if let name = statement.text(at: 1) { names.insert(name) }
        }
        return names
    }
}
