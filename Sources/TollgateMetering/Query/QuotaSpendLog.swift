// SPDX-License-Identifier: Apache-2.0
// What the usage log says was already spent in the quotas' current periods (SPEC §4: ledgers
// are rebuilt from the usage log before the gateway listens, so a restart — clean or kill -9 —
// never refreshes a quota). Read from `requests` rows by the instant each request ended (the
// ledger books a request when it settles), not from the daily rollups: those are UTC days,
// and quota periods follow `defaults.timezone`.
import Glibc

public struct QuotaSpendLog: Sendable, Equatable {
    /// Milli-GPU-seconds per user since `dayStart`.
    public var gpuByUser: [String: Int64] = [:]
    /// Micro-dollars per user since `monthStart`.
    public var spendByUser: [String: Int64] = [:]
    /// Micro-dollars per backend (the row's backend) since `monthStart`.
    public var spendByBackend: [String: Int64] = [:]
    /// Micro-dollars of every request since `monthStart`.
    public var spendTotal: Int64 = 0

    public init() {}

    /// The sums in the database at `path` for requests that ended at or after `dayStart` /
    /// `monthStart` (unix seconds). A missing file is a first start: all zero.
    public static func read(path: String, dayStart: Int64, monthStart: Int64) throws(SQLiteError) -> QuotaSpendLog {
        var log = QuotaSpendLog()
        guard access(path, F_OK) == 0 else { return log }
        let db = try SQLiteConnection(path: path, create: false)
        let earliest = min(dayStart, monthStart)
        // `ts` (the start) is indexed; a request ends within its timeouts, far less than a day
        // after it started, so the day before the period bounds the scan.
        let rows = try db.prepare("""
            SELECT COALESCE(user, ''), COALESCE(backend, ''), end_ts >= ?2, end_ts >= ?3,
                   SUM(gpu_ms), SUM(cost_microdollars)
            FROM requests WHERE ts >= ?1 AND end_ts >= ?4
            GROUP BY 1, 2, 3, 4
            """)
        try rows.bind(Double(earliest - 86_400), at: 1)
        try rows.bind(Double(dayStart), at: 2)
        try rows.bind(Double(monthStart), at: 3)
        try rows.bind(Double(earliest), at: 4)
        while try rows.step() {
            let user = rows.text(at: 0) ?? ""
            let backend = rows.text(at: 1) ?? ""
            let inDay = rows.int64(at: 2) != 0
            let inMonth = rows.int64(at: 3) != 0
            let gpu = max(0, rows.int64(at: 4))
            let cost = max(0, rows.int64(at: 5))
            if inDay && !user.isEmpty { log.gpuByUser[user, default: 0] = Self.add(log.gpuByUser[user, default: 0], gpu) }
            guard inMonth else { continue }
            if !user.isEmpty { log.spendByUser[user, default: 0] = Self.add(log.spendByUser[user, default: 0], cost) }
            if !backend.isEmpty { log.spendByBackend[backend, default: 0] = Self.add(log.spendByBackend[backend, default: 0], cost) }
            log.spendTotal = Self.add(log.spendTotal, cost)
        }
        return log
    }

    private static func add(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }
}
