// SPDX-License-Identifier: Apache-2.0
// The quota ledgers' start-up figures from the usage log: `requests` rows summed by the instant
// each request ended, into the current day (GPU) and month (dollars). A real database file.
import Glibc
import Testing
import TollgateMetering

@Suite struct QuotaSpendLogTests {
    // 2026-03-15T00:00:00Z and 2026-03-01T00:00:00Z.
    let dayStart: Int64 = 1_773_532_800
    let monthStart: Int64 = 1_772_323_200

    private func database() -> String {
        var template = Array("/tmp/tollgate-quota-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) } + "/usage.db"
    }

    private func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        rmdir(String(path.dropLast("/usage.db".count)))
    }

    @Test func sumsTheCurrentDayAndMonthByTheirEnd() throws {
        let path = database()
        defer { remove(path) }
        let db = try SQLiteConnection(path: path)
        try UsageSchema.prepare(db)
        // id, ts, end_ts, user, backend, gpu_ms, cost µ$
        let rows: [(String, Int64, Int64, String?, String?, Int64, Int64)] = [
            ("today", dayStart + 60, dayStart + 61, "alice", "box", 1_000, 10),
            ("crosses-midnight", dayStart - 5, dayStart + 5, "alice", "box", 2_000, 20),  // ended today
            ("yesterday", dayStart - 100, dayStart - 50, "alice", "other", 4_000, 40),      // month only
            ("last-month", monthStart - 100, monthStart - 10, "alice", "box", 8_000, 80),   // neither
            ("bob", dayStart + 1, dayStart + 2, "bob", "box", 16_000, 160),
            ("anonymous", dayStart + 1, dayStart + 2, nil, nil, 0, 0),
        ]
        let insert = try db.prepare("""
            INSERT INTO requests (id, ts, end_ts, user, backend, status, latency_ms, gpu_ms, cost_microdollars)
            VALUES (?1, ?2, ?3, ?4, ?5, 200, 1, ?6, ?7)
            """)
        for row in rows {
            insert.reset()
            try insert.bind(row.0, at: 1)
            try insert.bind(Double(row.1), at: 2)
            try insert.bind(Double(row.2), at: 3)
            try insert.bind(row.3, at: 4)
            try insert.bind(row.4, at: 5)
            try insert.bind(row.5, at: 6)
            try insert.bind(row.6, at: 7)
            _ = try insert.step()
        }
        let log = try QuotaSpendLog.read(path: path, dayStart: dayStart, monthStart: monthStart)
        #expect(log.gpuByUser == ["alice": 3_000, "bob": 16_000])
        #expect(log.spendByUser == ["alice": 70, "bob": 160])
        #expect(log.spendByBackend == ["box": 190, "other": 40])
        #expect(log.spendTotal == 230)
    }

    @Test func aMissingDatabaseIsAFirstStart() throws {
        let log = try QuotaSpendLog.read(path: "/tmp/tollgate-no-such-dir/usage.db", dayStart: dayStart, monthStart: monthStart)
        #expect(log == QuotaSpendLog())
    }
}
