// SPDX-License-Identifier: Apache-2.0
// The usage writer against real SQLite files: batching, rollups equal to the rows they sum,
// retention in steps, reopening and migrating, and failing closed on a full disk (a real tiny
// tmpfs) and a read-only file (chattr +i), recovering by itself once the disk takes writes.
import CLinux
import Glibc
import Synchronization
import Testing
import TollgateCore
@testable import TollgateMetering
import TollgateTestSupport

struct UsageWriterTests {
    // MARK: - Helpers

    /// A fresh directory under /tmp, removed with its files when the test ends.
    final class TemporaryDirectory {
        let path: String
        init() {
            var template = Array("/tmp/tollgate-writer-XXXXXX".utf8CString)
            path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        }
        var database: String { path + "/usage.db" }
        deinit { _ = shell("rm -rf '\(path)'") }
    }

    /// TestSupport's poll with a deadline, with the longer default a loaded disk needs.
    static func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        TollgateTestSupport.eventually(seconds, condition)
    }

    @discardableResult
    static func shell(_ command: String) -> Int32 {
        let status = system(command + " >/dev/null 2>&1")
        return status == -1 ? -1 : (status >> 8) & 0xFF
    }

    static let ids = Mutex(RequestIDGenerator())

    /// A record that started `ts` (now by default: rows older than the retention are pruned).
    static func record(user: String? = "alice", status: Int = 200, ts: Double = Double(tg_realtime_ns()) / 1e9, model: String? = "m",
                       backend: String? = "b", gpuMs: Int64 = 1500, cost: Int64 = 285) -> UsageRecord {
        var r = UsageRecord(id: ids.withLock { $0.next() }, clientRequestID: nil, timestamp: ts, method: "POST",
                            path: "/v1/chat/completions", status: status, latencyMs: 12.5, bytesIn: 100, bytesOut: 400)
        r.user = user
        r.model = model
        // A model the gateway resolved has a task (the rollups key by it only then).
        r.task = model == nil || status == 404 ? nil : "chat"
        r.backend = backend
        r.gpu = MilliGPUSeconds(gpuMs)
        r.cost = MicroDollars(cost)
        r.promptTokens = 9
        r.completionTokens = 7
        if status >= 400 { r.error = "http_\(status)" }
        return r
    }

    static func fastOptions() -> UsageWriterOptions {
        var o = UsageWriterOptions()
        o.batchIntervalMs = 10
        o.retryIntervalMs = 20
        o.closeGraceNs = 200_000_000
        return o
    }

    /// The number in the first column of `sql`'s first row, on a reader connection of its own.
    static func count(_ path: String, _ sql: String = "SELECT count(*) FROM requests") -> Int64 {
        guard let db = try? SQLiteConnection(path: path, readOnly: true) else { return -1 }
        return ((try? db.integer(sql)) ?? nil) ?? -1
    }

    // MARK: - Committed counters

    @Test func theCommittedCountersAreWhatARestartSeeds() throws {
        // /metrics' usage counters are the seeds plus what the writer committed; a restart
        // seeds from the rollups. Both must be the same figures, or a counter would come back
        // lower (a reset to Prometheus) or higher after a restart.
        let dir = TemporaryDirectory()
        let writer = try UsageWriter(path: dir.database, options: Self.fastOptions())
        writer.start()
        var records: [UsageRecord] = []
        for i in 0..<300 {
            records.append(Self.record(user: i % 7 == 0 ? nil : "user\(i % 3)", status: [200, 200, 404, 502, 499][i % 5],
                                       model: i % 11 == 0 ? "unknown-\(i)" : "m\(i % 2)", backend: i % 5 == 2 ? nil : "b\(i % 2)",
                                       gpuMs: Int64(i * 37), cost: Int64(i * 13)))
        }
        let expected = records.count
        writer.submit(&records)
        #expect(Self.eventually { writer.committedRows == expected })
        writer.close()
        let live = writer.committed.snapshot()
        let seeded = try MetricsSeed.read(path: dir.database, nowMs: Int64(tg_realtime_ns() / 1_000_000)).counts
        #expect(live.requests == seeded.requests)
        #expect(live.spend == seeded.spend)
        #expect(live.requests.values.reduce(0, +) == Int64(expected))
        #expect(live.month == seeded.month && live.monthCost == seeded.monthCost)
    }

    @Test func aLongPathIsStoredCutAndClosingTwiceIsHarmless() throws {
        let dir = TemporaryDirectory()
        let writer = try UsageWriter(path: dir.database, options: Self.fastOptions())
        writer.start()
        var long = Self.record(user: nil, status: 404, model: nil, backend: nil)
        long.path = "/" + String(repeating: "é", count: 4_000)
        var records = [long]
        writer.submit(&records)
        #expect(Self.eventually { writer.committedRows == 1 })
        writer.close()
        writer.close()
        // "/" and 127 two-byte "é" (255 bytes): the cut falls inside the 128th, which is left out.
        #expect(Self.count(dir.database, "SELECT length(CAST(path AS BLOB)) FROM requests") == 255)
        #expect(UsageStore.storedPath("/v1/chat/completions") == "/v1/chat/completions")
    }

    // MARK: - Batching, rollups, reopening

    @Test func rowsHandedOverPerIterationAreCommittedInBatchesWithoutClosing() throws {
        let dir = TemporaryDirectory()
        let writer = try UsageWriter(path: dir.database, options: Self.fastOptions())
        writer.start()
        let sink = UsageWriterSink(writer: writer)
        for _ in 0..<20 {
            for _ in 0..<100 { sink.record(Self.record()) }
            sink.loopIterationEnded()
        }
        // Committed within the batch interval, while the writer runs (not only at close).
        #expect(Self.eventually { Self.count(dir.database) == 2000 })
        // The writer counts a batch just after its COMMIT, which a reader may see first.
        #expect(Self.eventually { writer.committedRows == 2000 })
        #expect(writer.isHealthy && writer.droppedRows == 0)
        writer.close()
        #expect(Self.count(dir.database, "SELECT sum(requests) FROM usage_daily") == 2000)
    }

    @Test func rollupsEqualTheSumOfTheirRowsAcrossDaysUsersAndStatuses() throws {
        let dir = TemporaryDirectory()
        var options = Self.fastOptions()
        options.retentionDays = 0  // rows of 2023, kept
        let writer = try UsageWriter(path: dir.database, options: options)
        writer.start()
        let sink = UsageWriterSink(writer: writer)
        var rng = SplitMix64(seed: 42)
        for i in 0..<3000 {
            let user = [nil, "alice", "bob"][Int(rng.next() % 3)]
            let status = [200, 200, 401, 429, 502, 499][Int(rng.next() % 6)]
            // Three days' span from 22:13 UTC: four UTC days, rows either side of each midnight.
            let ts = 1_700_000_000 + Double(rng.next() % (3 * 86_400)) + 0.5
            sink.record(Self.record(user: user, status: status, ts: ts, model: user == nil ? nil : "m",
                                    backend: status == 200 ? "b" : nil, gpuMs: Int64(rng.next() % 5000),
                                    cost: Int64(rng.next() % 100_000)))
            if i % 37 == 0 { sink.loopIterationEnded() }
        }
        sink.loopIterationEnded()
        writer.close()
        let db = try SQLiteConnection(path: dir.database, readOnly: true)
        let differences = try db.integer("""
            SELECT count(*) FROM (
              SELECT strftime('%Y-%m-%d', ts, 'unixepoch') AS day, ifnull(user, '') AS user,
                     CASE WHEN task IS NULL THEN '' ELSE ifnull(model, '') END AS model,
                     ifnull(backend, '') AS backend, status, count(*) AS requests,
                     sum(error IS NOT NULL OR status >= 400) AS errors, sum(gpu_ms) AS gpu_ms,
                     sum(cost_microdollars) AS cost, sum(ifnull(prompt_tokens, 0)) AS pt,
                     sum(ifnull(completion_tokens, 0)) AS ct, sum(bytes_in) AS bi, sum(bytes_out) AS bo
              FROM requests GROUP BY 1, 2, 3, 4, 5
              EXCEPT
              SELECT day, user, model, backend, status, requests, errors, gpu_ms, cost_microdollars, prompt_tokens,
                     completion_tokens, bytes_in, bytes_out FROM usage_daily)
            """)
        #expect(differences == 0)
        #expect(try db.integer("SELECT sum(requests) FROM usage_daily") == 3000)
        let days = try db.integer("SELECT count(DISTINCT day) FROM usage_daily")
        #expect(days == 4)
        #expect(try db.integer("SELECT count(*) FROM requests WHERE end_ts < ts OR abs(gpu_seconds * 1000 - gpu_ms) > 1e-6 OR abs(cost_usd * 1e6 - cost_microdollars) > 1e-3") == 0)
    }

    @Test func aReopenedDatabaseKeepsItsRowsAndTakesMore() throws {
        let dir = TemporaryDirectory()
        for run in 1...3 {
            let writer = try UsageWriter(path: dir.database, options: Self.fastOptions())
            writer.start()
            var batch = (0..<250).map { _ in Self.record() }
            writer.submit(&batch)
            writer.close()
            #expect(Self.count(dir.database) == Int64(250 * run))
        }
        #expect(Self.count(dir.database, "PRAGMA user_version") == UsageSchema.currentVersion)
        #expect(Self.count(dir.database, "SELECT sum(requests) FROM usage_daily") == 750)
    }

    @Test func anEmptyDatabaseIsMigratedFromVersionZeroAndANewerOneIsRefused() throws {
        let dir = TemporaryDirectory()
        do {
            let db = try SQLiteConnection(path: dir.database)
            try db.execute("CREATE TABLE unrelated (x); PRAGMA user_version = 0;")
        }
        do {
            let writer = try UsageWriter(path: dir.database)
            writer.close()
        }
        #expect(Self.count(dir.database, "PRAGMA user_version") == UsageSchema.currentVersion)
        #expect(Self.count(dir.database, "SELECT count(*) FROM sqlite_master WHERE name IN ('requests', 'usage_daily', 'backend_uptime')") == 3)
        do {
            let db = try SQLiteConnection(path: dir.database)
            try db.execute("PRAGMA user_version = \(UsageSchema.currentVersion + 1)")
        }
        do {
            _ = try UsageWriter(path: dir.database)
            Issue.record("a database of a newer schema was opened")
        } catch {
            #expect(error.message.contains("newer"))
        }
    }

    /// A caller with a key can name any model (up to 512 bytes); the requests it gets refused
    /// (404 unknown, 403, 400) must not each add a usage_daily row that is never pruned, nor a
    /// model to /v1/usage's answer or to the seeds read at start-up: only a model the gateway
    /// resolved (its row has a task) is a rollup key. The row itself keeps the name asked for.
    @Test func modelNamesTheGatewayNeverResolvedDoNotGrowTheRollups() throws {
        let dir = TemporaryDirectory()
        let store = try UsageStore(path: dir.database)
        let refused = (0..<200).map { i in
            Self.record(status: 404, model: "invented-\(i)-" + String(repeating: "x", count: 400), backend: nil, gpuMs: 0, cost: 0)
        }
        var served = Self.record(model: "m")
        served.task = "chat"
        try store.commit(refused[...])
        try store.commit([served][...])
        #expect(Self.count(dir.database) == 201)
        #expect(Self.count(dir.database, "SELECT count(DISTINCT model) FROM requests") == 201)
        #expect(Self.count(dir.database, "SELECT count(*) FROM usage_daily") == 2)
        #expect(Self.count(dir.database, "SELECT requests FROM usage_daily WHERE model = '' AND status = 404") == 200)
        #expect(Self.count(dir.database, "SELECT requests FROM usage_daily WHERE model = 'm' AND status = 200") == 1)
    }

    // MARK: - Retention

    /// The insert keeps its bindings between rows (every parameter is bound for every row): a
    /// row whose optional fields are nil must store NULLs, never the previous row's values, and
    /// the id column holds the request id's 24 hex digits.
    @Test func eachRowHasItsOwnValuesNotThePreviousRowsBindings() throws {
        let dir = TemporaryDirectory()
        var full = Self.record(user: "alice", status: 502)
        full.clientRequestID = "client-1"
        full.clientAddress = "10.0.0.5"
        full.keyID = "k1"
        full.task = "chat"
        full.ttfbMs = 3.5
        full.attempts = 2
        var bare = Self.record(user: nil, status: 200, model: nil, backend: nil)
        bare.promptTokens = nil
        bare.completionTokens = nil
        // Text far longer than the rows before it (the row's text buffer grows mid-batch), then
        // a short row again: each row stores its own bytes.
        let longModel = String(repeating: "m", count: 5_000), longUser = String(repeating: "ü", count: 700)
        let long = Self.record(user: longUser, model: longModel, backend: "b2")
        let short = Self.record(user: "z", model: "y", backend: "x")
        do {
            let store = try UsageStore(path: dir.database)
            try store.commit([full, bare, long, short][...])
        }
        #expect(Self.count(dir.database, "SELECT count(*) FROM requests WHERE id = '\(long.id)' AND model = '\(longModel)'"
                           + " AND user = '\(longUser)' AND backend = 'b2' AND method = 'POST' AND path = '/v1/chat/completions'") == 1)
        #expect(Self.count(dir.database, "SELECT count(*) FROM requests WHERE id = '\(short.id)' AND model = 'y'"
                           + " AND user = 'z' AND backend = 'x' AND method = 'POST' AND path = '/v1/chat/completions'") == 1)
        let nulls = "client_request_id IS NULL AND user IS NULL AND key_id IS NULL AND model IS NULL AND task IS NULL"
            + " AND backend IS NULL AND ttfb_ms IS NULL AND upstream_ms IS NULL AND prompt_tokens IS NULL"
            + " AND completion_tokens IS NULL AND error IS NULL AND attempts = 0"
        #expect(Self.count(dir.database, "SELECT count(*) FROM requests WHERE id = '\(bare.id)' AND \(nulls)") == 1)
        #expect(Self.count(dir.database, "SELECT count(*) FROM requests WHERE id = '\(full.id)' AND client_request_id = 'client-1'"
                           + " AND user = 'alice' AND key_id = 'k1' AND task = 'chat' AND error = 'http_502' AND attempts = 2") == 1)
        #expect(Self.count(dir.database, "SELECT count(*) FROM requests WHERE length(id) = 24") == 4)
    }

    @Test func retentionPrunesOldRowsInBoundedStepsAndKeepsTheRollups() throws {
        let dir = TemporaryDirectory()
        let now = Double(tg_realtime_ns()) / 1e9
        do {
            let store = try UsageStore(path: dir.database)
            let old = (0..<1_234).map { i in Self.record(ts: now - 100 * 86_400 - Double(i)) }
            let fresh = (0..<50).map { _ in Self.record(ts: now - 3600) }
            try store.commit(old[...])
            try store.commit(fresh[...])
            // One step deletes at most its limit, the oldest first.
            #expect(try store.prune(before: now - 90 * 86_400, limit: 500) == 500)
            #expect(Self.count(dir.database) == 1_284 - 500)
            #expect(Self.count(dir.database, "SELECT count(*) FROM requests WHERE ts < \(now - 100 * 86_400 - 733)") == 0)
        }
        var options = Self.fastOptions()
        options.retentionDays = 90
        options.pruneStepRows = 100
        let writer = try UsageWriter(path: dir.database, options: options)
        writer.start()
        #expect(Self.eventually { Self.count(dir.database) == 50 })
        writer.close()
        // Rollups are never pruned.
        #expect(Self.count(dir.database, "SELECT sum(requests) FROM usage_daily") == 1_284)
    }

    // MARK: - Uptime segments

    @Test func uptimeSegmentsBeginAdvanceAndCloseOnTheNextRun() throws {
        let dir = TemporaryDirectory()
        var options = Self.fastOptions()
        options.uptimeIntervalSeconds = 0.02
        let writer = try UsageWriter(path: dir.database, options: options)
        writer.start()
        let start = Double(tg_realtime_ns()) / 1e9
        writer.beginUptime(backends: [("t4", MicroDollars(400_000)), ("a10g", MicroDollars(1_050_000))], at: start)
        #expect(Self.eventually { Self.count(dir.database, "SELECT count(*) FROM backend_uptime WHERE last_seen > started") == 2 })
        writer.beginUptime(backends: [("t4", MicroDollars(400_000))], at: start + 1000)
        #expect(Self.eventually { Self.count(dir.database, "SELECT count(DISTINCT run) FROM backend_uptime") == 2 })
        writer.close()
        let db = try SQLiteConnection(path: dir.database, readOnly: true)
        // The first run's segments ended where the second began.
        #expect(try db.integer("SELECT count(*) FROM backend_uptime WHERE last_seen = \(start + 1000) AND started = \(start)") == 2)
        #expect(try db.integer("SELECT sum(per_hour_microdollars) FROM backend_uptime WHERE started = \(start)") == 1_450_000)
    }

    // MARK: - Fail closed

    @Test func rowsWithoutAUserAreDroppedFirstAndOnlyALostUserRowFailsClosed() throws {
        let dir = TemporaryDirectory()
        var options = Self.fastOptions()
        options.queueCapacity = 100
        options.batchRows = 1_000
        let writer = try UsageWriter(path: dir.database, options: options)
        // Not started yet: the queue only fills.
        var users = (0..<75).map { _ in Self.record() }
        writer.submit(&users)
        var anonymous = (0..<40).map { _ in Self.record(user: nil) }
        writer.submit(&anonymous)
        #expect(writer.droppedRows == 40)
        #expect(writer.isHealthy, "anonymous rows lost must not fail the gateway closed")
        var more = (0..<30).map { _ in Self.record() }
        writer.submit(&more)
        #expect(writer.droppedRows == 45)
        #expect(!writer.isHealthy)
        #expect(writer.failureReason?.contains("queue is full") == true)
        writer.start()
        #expect(Self.eventually { writer.isHealthy })
        #expect(writer.failureReason == nil)
        writer.close()
        #expect(Self.count(dir.database) == 100)
    }

    /// A 4 MiB tmpfs holds the database; a file fills the rest. Writes fail (SQLITE_FULL),
    /// the writer turns unhealthy and keeps the batch; once the file is gone it recovers by
    /// itself and every kept row is written.
    @Test func aFullDiskFailsClosedAndTheWriterRecoversWhenSpaceReturns() throws {
        guard geteuid() == 0 else {
            print("skipped: mounting a tmpfs needs root")
            return
        }
        let dir = TemporaryDirectory()
        let mountPoint = dir.path + "/mnt"
        mkdir(mountPoint, 0o755)
        guard Self.shell("mount -t tmpfs -o size=4m tollgate-test '\(mountPoint)'") == 0 else {
            print("skipped: cannot mount a tmpfs here (root without CAP_SYS_ADMIN?)")
            return
        }
        defer { Self.shell("umount -l '\(dir.path)/mnt'") }
        let path = mountPoint + "/usage.db"
        let writer = try UsageWriter(path: path, options: Self.fastOptions())
        writer.start()
        var first = (0..<100).map { _ in Self.record() }
        writer.submit(&first)
        #expect(Self.eventually { writer.committedRows == 100 })
        // Fill the disk to the last block.
        Self.shell("dd if=/dev/zero of='\(mountPoint)/filler' bs=4k")
        var during = (0..<2_000).map { _ in Self.record() }
        writer.submit(&during)
        #expect(Self.eventually { !writer.isHealthy })
        let reason = writer.failureReason ?? ""
        #expect(reason.contains("full") || reason.contains("disk"), "\(reason)")
        #expect(writer.committedRows == 100)
        unlink(mountPoint + "/filler")
        #expect(Self.eventually { writer.isHealthy })
        #expect(Self.eventually { writer.committedRows == 2_100 })
        writer.close()
        #expect(writer.droppedRows == 0)
        #expect(Self.count(path) == 2_100)
        #expect(Self.count(path, "SELECT sum(requests) FROM usage_daily") == 2_100)
    }

    /// The database file turns read-only under the running writer (chattr +i: even root's
    /// writes fail): unhealthy, then recovery once it is writable again.
    @Test func aReadOnlyDatabaseFileFailsClosedAndRecovers() throws {
        guard geteuid() == 0 else {
            print("skipped: chattr +i needs root")
            return
        }
        let dir = TemporaryDirectory()
        let writer = try UsageWriter(path: dir.database, options: Self.fastOptions())
        writer.start()
        var first = (0..<10).map { _ in Self.record() }
        writer.submit(&first)
        #expect(Self.eventually { writer.committedRows == 10 })
        let files = "'\(dir.database)' '\(dir.database)-wal'"
        guard Self.shell("chattr +i \(files)") == 0 else {
            print("skipped: this file system has no immutable attribute")
            return
        }
        defer { Self.shell("chattr -i '\(dir.database)' '\(dir.database)-wal'") }
        var during = (0..<10).map { _ in Self.record() }
        writer.submit(&during)
        #expect(Self.eventually { !writer.isHealthy })
        #expect(writer.failureReason != nil)
        Self.shell("chattr -i \(files)")
        #expect(Self.eventually { writer.isHealthy && writer.committedRows == 20 })
        writer.close()
        #expect(Self.count(dir.database) == 20)
        // Read-only from the start: opening it for writing is an error at once, not a trap.
        Self.shell("chattr +i \(files)")
        #expect(throws: SQLiteError.self) { _ = try UsageWriter(path: dir.database) }
    }
}
