// SPDX-License-Identifier: Apache-2.0
// The usage log's schema against SPEC §5, its migrations, and the SQLite layer's errors: a
// database on a real file in a temporary directory, no mock.
import Glibc
import Testing
import TollgateMetering

struct UsageSchemaTests {
    /// A fresh directory under /tmp, removed with its files when the test ends.
    private final class TemporaryDirectory {
        let path: String
        init() {
            var template = Array("/tmp/tollgate-sqlite-XXXXXX".utf8CString)
            path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        }
        deinit {
            for name in ["usage.db", "usage.db-wal", "usage.db-shm", "garbage.db"] { unlink(path + "/" + name) }
            chmod(path, 0o755)
            rmdir(path)
        }
    }

    /// SPEC §5's columns, in its order.
    static let specColumns = ["id", "client_request_id", "ts", "user", "key_id", "model", "task", "backend", "status",
                              "attempts", "latency_ms", "ttfb_ms", "queue_ms", "cold_start", "gpu_seconds", "cost_usd",
                              "bytes_in", "bytes_out", "prompt_tokens", "completion_tokens", "error"]

    @Test func aNewDatabaseGetsEverySpecColumnInWALMode() throws {
        let dir = TemporaryDirectory()
        let db = try SQLiteConnection(path: dir.path + "/usage.db")
        #expect(try UsageSchema.prepare(db) == 0)
        #expect(try db.integer("PRAGMA user_version") == UsageSchema.currentVersion)
        let columns = try db.prepare("SELECT name FROM pragma_table_info('requests')")
        var names: [String] = []
        while try columns.step() { names.append(columns.text(at: 0) ?? "") }
        #expect(Self.specColumns.allSatisfy(names.contains), "missing: \(Self.specColumns.filter { !names.contains($0) })")
        let mode = try db.prepare("PRAGMA journal_mode")
        #expect(try mode.step())
        #expect(mode.text(at: 0) == "wal")
        #expect(try db.integer("SELECT count(*) FROM sqlite_master WHERE name = 'usage_daily'") == 1)
    }

    @Test func migrationsRunOnceAndANewerSchemaIsRefused() throws {
        let dir = TemporaryDirectory()
        do {
            let db = try SQLiteConnection(path: dir.path + "/usage.db")
            try UsageSchema.prepare(db)
        }
        let again = try SQLiteConnection(path: dir.path + "/usage.db")
        #expect(try UsageSchema.prepare(again) == UsageSchema.currentVersion)
        try again.execute("PRAGMA user_version = \(UsageSchema.currentVersion + 1)")
        #expect(throws: SQLiteError.self) { try UsageSchema.prepare(again) }
    }

    @Test func aRowRoundTripsThroughAPreparedStatement() throws {
        let dir = TemporaryDirectory()
        let db = try SQLiteConnection(path: dir.path + "/usage.db")
        try UsageSchema.prepare(db)
        let insert = try db.prepare("INSERT INTO requests (id, ts, end_ts, user, status, latency_ms, cost_microdollars, error) VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7)")
        for (i, user) in ["alice", "", "ünïcode \u{0}nul"].enumerated() {
            try insert.bind("req-\(i)", at: 1)
            try insert.bind(1_700_000_000.5, at: 2)
            try insert.bind(user, at: 3)
            try insert.bind(Int64(200), at: 4)
            try insert.bind(12.25, at: 5)
            try insert.bind(Int64.max, at: 6)
            try insert.bind(nil as String?, at: 7)
            #expect(try insert.step() == false)
            insert.reset()
        }
        let select = try db.prepare("SELECT user, cost_microdollars, error, ts FROM requests ORDER BY id")
        var users: [String?] = []
        while try select.step() {
            users.append(select.text(at: 0))
            #expect(select.int64(at: 1) == Int64.max)
            #expect(select.isNull(at: 2))
            #expect(select.double(at: 3) == 1_700_000_000.5)
        }
        #expect(users == ["alice", "", "ünïcode \u{0}nul"])
        // The id is unique: a second row with it is refused with SQLite's constraint code.
        try insert.bind("req-0", at: 1)
        try insert.bind(0.0, at: 2)
        try insert.bind(Int64(200), at: 4)
        try insert.bind(1.0, at: 5)
        #expect(throws: SQLiteError.self) { try insert.step() }
    }

    @Test func badFilesAreErrorsNotTraps() throws {
        let dir = TemporaryDirectory()
        // Not a database: SQLITE_NOTADB when first read.
        let garbage = dir.path + "/garbage.db"
        let fd = open(garbage, O_CREAT | O_WRONLY, 0o600)
        _ = Array(repeating: UInt8(0x41), count: 4096).withUnsafeBytes { write(fd, $0.baseAddress, 4096) }
        close(fd)
        do {
            let db = try SQLiteConnection(path: garbage)
            try UsageSchema.prepare(db)
            Issue.record("a file of garbage was taken for a database")
        } catch {
            #expect(error.primaryCode == 26)  // SQLITE_NOTADB
        }
        // A directory nobody may write to: the database cannot be created (root ignores modes,
        // so the check is made read-only at the SQLite level instead).
        #expect(throws: SQLiteError.self) { try SQLiteConnection(path: dir.path + "/absent.db", readOnly: true) }
        #expect(throws: SQLiteError.self) { try SQLiteConnection(path: dir.path + "/no/such/dir/usage.db") }
    }
}
