// SPDX-License-Identifier: Apache-2.0
// The router's expected-run seeds from a real usage log: per (backend, model) the mean gpu_ms
// of the latest successful requests within the window; a missing file is no seeds, an
// unreadable one throws (as the quota ledgers' rebuild does).
import Glibc
import Testing
@testable import TollgateMetering

@Suite struct RunTimeSeedTests {
    /// 2026-03-15T00:00:00Z.
    let now: Double = 1_773_532_800

    private func database() -> String {
        var template = Array("/tmp/tollgate-runtime-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) } + "/usage.db"
    }

    private func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        rmdir(String(path.dropLast("/usage.db".count)))
    }

    /// (ts, backend, model, status, gpu_ms)
    private typealias Row = (ts: Double, backend: String?, model: String?, status: Int64, gpuMs: Int64)

    private func insert(_ rows: [Row], into path: String) throws {
        let db = try SQLiteConnection(path: path)
        try UsageSchema.prepare(db)
        let insert = try db.prepare("""
            INSERT INTO requests (id, ts, end_ts, backend, model, status, latency_ms, gpu_ms, gpu_seconds)
            VALUES (?1, ?2, ?2, ?3, ?4, ?5, 1, ?6, ?6 / 1000.0)
            """)
        for (n, row) in rows.enumerated() {
            insert.reset()
            try insert.bind("r\(n)", at: 1)
            try insert.bind(row.ts, at: 2)
            try insert.bind(row.backend, at: 3)
            try insert.bind(row.model, at: 4)
            try insert.bind(row.status, at: 5)
            try insert.bind(row.gpuMs, at: 6)
            _ = try insert.step()
        }
    }

    @Test func meansOfSuccessfulRowsPerPairWithinTheWindow() throws {
        let path = database()
        defer { remove(path) }
        try insert([
            (now - 60, "pod", "llama", 200, 1_000),
            (now - 120, "pod", "llama", 201, 2_001),
            (now - 180, "pod", "llama", 502, 90_000),            // failed: not a run
            (now - 240, nil, "llama", 200, 70_000),              // reached no backend
            (now - 300, "pod", "whisper", 200, 400),
            (now - 360, "space", "llama", 200, 3_000),
            (now - 8 * 86_400, "pod", "llama", 200, 50_000),     // older than the window
            (now - 400, "pod", "", 200, 60_000),                 // no model
        ], into: path)
        let seed = try RunTimeSeed.load(path: path, nowUnix: now)
        #expect(seed.rows == [
            .init(backend: "pod", model: "llama", meanMs: 1_501, count: 2),  // 1500.5 rounds up
            .init(backend: "pod", model: "whisper", meanMs: 400, count: 1),
            .init(backend: "space", model: "llama", meanMs: 3_000, count: 1),
        ])
        #expect(seed.row(backend: "pod", model: "whisper")?.meanMs == 400)
        #expect(seed.row(backend: "space", model: "whisper") == nil)
    }

    @Test func onlyTheLatestRowsOfAPairCount() throws {
        let path = database()
        defer { remove(path) }
        // The 3 newest are 10 s runs; the older ones 100 s: with perPair 3 only the newest count.
        var rows: [Row] = []
        for n in 0..<3 { rows.append((now - Double(n + 1), "pod", "m", 200, 10_000)) }
        for n in 3..<10 { rows.append((now - Double(n + 1), "pod", "m", 200, 100_000)) }
        try insert(rows.reversed(), into: path)
        let seed = try RunTimeSeed.load(path: path, nowUnix: now, perPair: 3)
        #expect(seed.rows == [.init(backend: "pod", model: "m", meanMs: 10_000, count: 3)])
        let all = try RunTimeSeed.load(path: path, nowUnix: now)
        #expect(all.rows == [.init(backend: "pod", model: "m", meanMs: 73_000, count: 10)])
    }

    @Test func hugeAndNegativeFiguresNeitherTrapNorSkew() throws {
        let path = database()
        defer { remove(path) }
        try insert([
            (now - 1, "pod", "m", 200, .max),
            (now - 2, "pod", "m", 200, .max),
            (now - 3, "box", "m", 200, -5_000),
            (now - 4, "box", "m", 200, 3),
        ], into: path)
        let seed = try RunTimeSeed.load(path: path, nowUnix: now)
        // The sum saturates at Int64.max: (max / 2) rounded up, not a trap.
        let huge = try #require(seed.row(backend: "pod", model: "m"))
        #expect(huge.meanMs == Int64.max / 2 + 1)
        #expect(seed.row(backend: "box", model: "m")?.meanMs == 2)  // (0 + 3) / 2 = 1.5 → 2
    }

    @Test func aMissingDatabaseIsNoSeedsAndIsNotCreated() throws {
        let path = database()
        defer { remove(path) }
        #expect(try RunTimeSeed.load(path: path, nowUnix: now) == .empty)
        #expect(access(path, F_OK) != 0)
    }

    @Test func anUnreadableDatabaseThrows() throws {
        let path = database()
        defer { remove(path) }
        let db = try SQLiteConnection(path: path)
        try db.execute("CREATE TABLE other (x INTEGER)")
        #expect(throws: SQLiteError.self) { try RunTimeSeed.load(path: path, nowUnix: now) }
    }

    @Test func meanRoundsHalfUp() {
        #expect(RunTimeSeed.mean(0, 1) == 0)
        #expect(RunTimeSeed.mean(5, 2) == 3)
        #expect(RunTimeSeed.mean(4, 3) == 1)
        #expect(RunTimeSeed.mean(.max, 1) == .max)
        #expect(RunTimeSeed.mean(7, 0) == 7)
    }
}
