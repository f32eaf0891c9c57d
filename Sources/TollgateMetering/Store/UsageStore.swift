// SPDX-License-Identifier: Apache-2.0
// The writer's side of the usage database: one connection and its prepared statements, used by
// the UsageWriter's thread only (SQLite is never called on a loop thread). A batch of records
// is one transaction: every row, and the usage_daily rollups summed per key in memory first, so
// the rollups always equal the rows they count (SPEC §5). Pruning deletes old rows a few
// hundred at a time through the ts index, so no step holds the write lock for long.
import CSQLite
import TollgateCore

final class UsageStore {
    private let db: SQLiteConnection
    private let insertRow: SQLiteStatement
    private let upsertDaily: SQLiteStatement
    private let pruneStep: SQLiteStatement
    private let closeSegments: SQLiteStatement
    private let insertSegment: SQLiteStatement
    /// BEGIN IMMEDIATE and COMMIT, compiled once: through sqlite3_exec each was parsed again for
    /// every batch (about a twentieth of the writer's work per row at ~15 rows a batch).
    private let begin: SQLiteStatement
    private let commitTransaction: SQLiteStatement
    /// The text columns of the row being inserted, end to end (see `RowText`).
    private let rowText = RowText()
    /// The UTC day of the last row formatted, and its text: rows of one batch share a day.
    private var cachedDay: Int64 = .min
    private var cachedDayText = ""

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    init(path: String) throws(SQLiteError) {
        db = try SQLiteConnection(path: path)
        // SQLite falls back to read-only when the file refuses writes; a writer that cannot
        // write is a start-up error, not a gateway that starts failed closed.
        guard !db.isReadOnly else {
            throw SQLiteError(code: 8, message: "the file is read-only (SQLITE_READONLY): tollgate needs to write it")
        }
        try UsageSchema.prepare(db)
        insertRow = try db.prepare("""
            INSERT INTO requests (id, client_request_id, ts, end_ts, method, path, user, key_id, model, task,
                backend, status, attempts, latency_ms, ttfb_ms, upstream_ms, queue_ms, cold_start, gpu_seconds,
                cost_usd, gpu_ms, cost_microdollars, bytes_in, bytes_out, prompt_tokens, completion_tokens, error)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
                ?22, ?23, ?24, ?25, ?26, ?27)
            """)
        upsertDaily = try db.prepare("""
            INSERT INTO usage_daily (day, user, model, backend, status, requests, errors, gpu_ms, cost_microdollars,
                prompt_tokens, completion_tokens, bytes_in, bytes_out)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
            ON CONFLICT (day, user, model, backend, status) DO UPDATE SET
                requests = requests + excluded.requests, errors = errors + excluded.errors,
                gpu_ms = gpu_ms + excluded.gpu_ms, cost_microdollars = cost_microdollars + excluded.cost_microdollars,
                prompt_tokens = prompt_tokens + excluded.prompt_tokens,
                completion_tokens = completion_tokens + excluded.completion_tokens,
                bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out
            """)
        // The oldest rows first, through the ts index: a bounded step whatever the backlog.
        pruneStep = try db.prepare("""
            DELETE FROM requests WHERE rowid IN (SELECT rowid FROM requests WHERE ts < ?1 ORDER BY ts LIMIT ?2)
            """)
        closeSegments = try db.prepare("UPDATE backend_uptime SET last_seen = ?2 WHERE run = ?1")
        begin = try db.prepare("BEGIN IMMEDIATE")
        commitTransaction = try db.prepare("COMMIT")
        insertSegment = try db.prepare("""
            INSERT INTO backend_uptime (run, backend, per_hour_microdollars, started, last_seen)
            VALUES (?1, ?2, ?3, ?4, ?4)
            ON CONFLICT (run, backend) DO UPDATE SET per_hour_microdollars = excluded.per_hour_microdollars,
                last_seen = excluded.last_seen
            """)
    }

    /// Writes `records` and their rollups in one transaction: all of them, or none (the
    /// transaction is rolled back and the caller keeps the batch to try again).
    /// - Returns: what the batch added to the rollups (the committed counters add it too).
    @discardableResult
    func commit(_ records: ArraySlice<UsageRecord>) throws(SQLiteError) -> [DailyKey: DailySums] {
        guard !records.isEmpty else { return [:] }
        var rollups: [DailyKey: DailySums] = [:]
        try transaction { () throws(SQLiteError) in
            rollups = [:]
            for record in records {
                let day = dayText(of: record.timestamp)
                try insert(record, day: day)
                let key = DailyKey(day: day, user: record.user ?? "", model: Self.rollupModel(of: record),
                                   backend: record.backend ?? "", status: record.status)
                rollups[key, default: DailySums()].add(record)
            }
            for (key, sums) in rollups { try upsert(key, sums) }
        }
        return rollups
    }

    /// The model a rollup is keyed by: the record's only when the gateway resolved it to a
    /// configured model (then it has a task). A refused request (404 unknown model, 403, 400)
    /// carries whatever name the caller sent, up to 512 bytes; rollups are never pruned, so
    /// keying them by it would let one key grow usage_daily, /v1/usage's answer and the
    /// start-up seeds without bound (SPEC §7: everything bounded). Its row keeps the name.
    static func rollupModel(of record: UsageRecord) -> String {
        guard record.task != nil, let model = record.model else { return "" }
        return model
    }

    /// The path as a row keeps it: its first 256 bytes. A path comes from any client, keyed or
    /// not, up to `server.max_header`; every route's path is shorter, and an 8 KiB path per
    /// unauthenticated request would let a flood fill the disk 30 times faster. The access
    /// log line keeps it whole.
    static func storedPath(_ path: String) -> String {
        let bytes = path.utf8
        guard bytes.count > storedPathLimit else { return path }
        // Cut before a character's continuation bytes (10xxxxxx), never inside it.
        var end = bytes.index(bytes.startIndex, offsetBy: storedPathLimit)
        while end > bytes.startIndex && bytes[end] & 0xC0 == 0x80 { end = bytes.index(before: end) }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    static let storedPathLimit = 256

    /// Deletes at most `limit` rows that started before `cutoff` (unix seconds).
    /// - Returns: how many were deleted (fewer than `limit`: nothing older is left).
    func prune(before cutoff: Double, limit: Int) throws(SQLiteError) -> Int {
        var deleted = 0
        try transaction { () throws(SQLiteError) in
            defer { pruneStep.reset() }
            try pruneStep.bind(cutoff, at: 1)
            try pruneStep.bind(Int64(limit), at: 2)
            try pruneStep.step()
            deleted = db.changes
        }
        return deleted
    }

    /// Ends the segments of `closing` (a previous run id) at `at`, and begins one segment per
    /// backend under `run` at `at`.
    func beginSegments(run: String, closing: String?, backends: [(name: String, perHour: MicroDollars)],
                       at: Double) throws(SQLiteError) {
        try transaction { () throws(SQLiteError) in
            if let closing { try touchSegments(run: closing, at: at) }
            for backend in backends {
                defer { insertSegment.reset() }
                try insertSegment.bind(run, at: 1)
                try insertSegment.bind(backend.name, at: 2)
                try insertSegment.bind(backend.perHour.value, at: 3)
                try insertSegment.bind(at, at: 4)
                try insertSegment.step()
            }
        }
    }

    /// Moves the `last_seen` of every segment of `run` to `at`.
    func advanceSegments(run: String, at: Double) throws(SQLiteError) {
        try transaction { () throws(SQLiteError) in try touchSegments(run: run, at: at) }
    }

    private func touchSegments(run: String, at: Double) throws(SQLiteError) {
        defer { closeSegments.reset() }
        try closeSegments.bind(run, at: 1)
        try closeSegments.bind(at, at: 2)
        try closeSegments.step()
    }

    /// Runs `body` between BEGIN IMMEDIATE and COMMIT; on any error rolls back (SQLite may
    /// already have, after SQLITE_FULL or an I/O error: https://sqlite.org/lang_transaction.html)
    /// and rethrows.
    private func transaction(_ body: () throws(SQLiteError) -> Void) throws(SQLiteError) {
        try run(begin)
        do {
            try body()
            try run(commitTransaction)
        } catch {
            if !db.isAutocommit { try? db.execute("ROLLBACK") }
            throw error
        }
    }

    /// Steps a statement without parameters once, and resets it (also when the step failed).
    private func run(_ statement: SQLiteStatement) throws(SQLiteError) {
        defer { statement.reset(keepingBindings: true) }
        try statement.step()
    }

    private func insert(_ r: UsageRecord, day: String) throws(SQLiteError) {
        let s = insertRow
        // All 27 parameters are bound below for every row: nothing to clear in between.
        defer { s.reset(keepingBindings: true) }
        // The row's text is laid out in `rowText` first (its size known before the first byte,
        // so no binding below points into memory that a later growth moved), then bound in
        // place: SQLite reads it during the step and each column costs no copy of its own.
        // Every text parameter is bound again for each row before its step, so a binding left
        // from the previous row (into memory `start` may have reused or freed) is never read.
        func length(_ text: String?) -> Int { text?.utf8.count ?? 0 }
        rowText.start(capacity: RequestID.textLength &+ length(r.clientRequestID) &+ r.method.utf8.count
                      &+ r.path.utf8.count &+ length(r.user) &+ length(r.keyID) &+ length(r.model) &+ length(r.task)
                      &+ length(r.backend) &+ length(r.error))
        if let id = rowText.append(requestID: r.id) {
            try s.bind(borrowedText: id, at: 1)
        } else {
            try s.bind(r.id.description, at: 1)
        }
        try bindText(r.clientRequestID, at: 2)
        try s.bind(r.timestamp, at: 3)
        try s.bind(r.timestamp + r.latencyMs / 1000, at: 4)
        try bindText(r.method, at: 5)
        try bindText(Self.storedPath(r.path), at: 6)
        try bindText(r.user, at: 7)
        try bindText(r.keyID, at: 8)
        try bindText(r.model, at: 9)
        try bindText(r.task, at: 10)
        try bindText(r.backend, at: 11)
        try s.bind(Int64(r.status), at: 12)
        try s.bind(Int64(r.attempts), at: 13)
        try s.bind(r.latencyMs, at: 14)
        try s.bind(r.ttfbMs, at: 15)
        try s.bind(r.attempts > 0 ? r.upstreamSeconds * 1000 : nil, at: 16)
        try s.bind(r.queueMs, at: 17)
        try s.bind(Int64(r.coldStart ? 1 : 0), at: 18)
        try s.bind(r.gpu.seconds, at: 19)
        try s.bind(r.cost.dollars, at: 20)
        try s.bind(r.gpu.value, at: 21)
        try s.bind(r.cost.value, at: 22)
        try s.bind(Int64(r.bytesIn), at: 23)
        try s.bind(Int64(r.bytesOut), at: 24)
        try s.bind(r.promptTokens.map(Int64.init), at: 25)
        try s.bind(r.completionTokens.map(Int64.init), at: 26)
        try bindText(r.error, at: 27)
        try s.step()
    }

    /// Binds `text` to the insert through `rowText` (NULL when nil; copied by SQLite should
    /// `rowText` have no room, which its sizing rules out).
    private func bindText(_ text: String?, at index: Int32) throws(SQLiteError) {
        guard let text else { return try insertRow.bind(nil as Int64?, at: index) }
        if let bytes = rowText.append(text) {
            try insertRow.bind(borrowedText: bytes, at: index)
        } else {
            try insertRow.bind(text, at: index)
        }
    }

    private func upsert(_ key: DailyKey, _ sums: DailySums) throws(SQLiteError) {
        let s = upsertDaily
        // All 13 parameters are bound below for every key.
        defer { s.reset(keepingBindings: true) }
        try s.bind(key.day, at: 1)
        try s.bind(key.user, at: 2)
        try s.bind(key.model, at: 3)
        try s.bind(key.backend, at: 4)
        try s.bind(Int64(key.status), at: 5)
        try s.bind(sums.requests, at: 6)
        try s.bind(sums.errors, at: 7)
        try s.bind(sums.gpuMs, at: 8)
        try s.bind(sums.costMicrodollars, at: 9)
        try s.bind(sums.promptTokens, at: 10)
        try s.bind(sums.completionTokens, at: 11)
        try s.bind(sums.bytesIn, at: 12)
        try s.bind(sums.bytesOut, at: 13)
        try s.step()
    }

    /// `YYYY-MM-DD` of the UTC day `ts` (unix seconds) falls in.
    private func dayText(of ts: Double) -> String {
        // A timestamp outside any clock's range is filed under day 0 rather than trapping.
        let days = ts.isFinite && abs(ts) < 1e15 ? Int64((ts / 86_400).rounded(.down)) : 0
        if days != cachedDay {
            cachedDay = days
            cachedDayText = CivilDate(daysSinceEpoch: days).text
        }
        return cachedDayText
    }
}

/// The text columns of one row laid end to end in memory the store owns and reuses: bound in
/// place (SQLITE_STATIC), they are read by the step without SQLite copying each into an
/// allocation of its own (a malloc and a free per text column per row, about a sixth of the
/// writer's work). Valid until the next row's `start`, which the step of this row precedes.
private final class RowText {
    private var base: UnsafeMutableRawPointer?
    private var capacity = 0
    private var used = 0

    deinit { base?.deallocate() }

    /// Empties the buffer and makes room for `count` bytes (grown only, never shrunk below
    /// what a row needed; a row larger than 64 KiB gets memory of its own size, freed at the
    /// next `start` that needs less).
    func start(capacity count: Int) {
        used = 0
        if count > capacity || (capacity > 64 << 10 && count <= 64 << 10) {
            base?.deallocate()
            capacity = max(count, 256)
            base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
        }
    }

    /// Copies `text` in; returns its bytes here, nil if there was no room (which `start`'s
    /// size rules out).
    func append(_ text: String) -> UnsafeRawBufferPointer? {
        if let copied = text.utf8.withContiguousStorageIfAvailable({ append(UnsafeRawBufferPointer($0)) }) { return copied }
        var copy = text
        return copy.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// The id's 24 hex digits, written in (nil without room).
    func append(requestID id: RequestID) -> UnsafeRawBufferPointer? {
        guard let base, RequestID.textLength <= capacity - used else { return nil }
        let at = base + used
        id.writeHex(to: at)
        used += RequestID.textLength
        return UnsafeRawBufferPointer(start: at, count: RequestID.textLength)
    }

    private func append(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard let base, bytes.count <= capacity - used else { return nil }
        let at = base + used
        if let from = bytes.baseAddress { at.copyMemory(from: from, byteCount: bytes.count) }
        used += bytes.count
        return UnsafeRawBufferPointer(start: at, count: bytes.count)
    }
}

/// One usage_daily row's key (NULLs as '').
struct DailyKey: Hashable {
    var day: String
    var user: String
    var model: String
    var backend: String
    var status: Int
}

/// What one batch adds to a usage_daily row. Sums wrap rather than trap: no real traffic
/// reaches Int64's range, and a trap would end every stream of the process.
struct DailySums {
    var requests: Int64 = 0
    var errors: Int64 = 0
    var gpuMs: Int64 = 0
    var costMicrodollars: Int64 = 0
    var promptTokens: Int64 = 0
    var completionTokens: Int64 = 0
    var bytesIn: Int64 = 0
    var bytesOut: Int64 = 0

    /// A request is an error when it did not end well: an error status or an error text
    /// (a client that went away mid-stream after a 200).
    mutating func add(_ r: UsageRecord) {
        requests &+= 1
        if r.error != nil || r.status >= 400 { errors &+= 1 }
        gpuMs &+= r.gpu.value
        costMicrodollars &+= r.cost.value
        promptTokens &+= Int64(r.promptTokens ?? 0)
        completionTokens &+= Int64(r.completionTokens ?? 0)
        bytesIn &+= Int64(r.bytesIn)
        bytesOut &+= Int64(r.bytesOut)
    }
}
