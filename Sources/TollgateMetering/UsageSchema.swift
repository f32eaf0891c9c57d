// SPDX-License-Identifier: Apache-2.0
// The usage log's schema (SPEC §5), versioned with PRAGMA user_version: each migration runs once,
// in its own transaction, in order, so a database written by an older Tollgate is brought up to
// date at start and one written by a newer Tollgate is refused rather than misread.

public enum UsageSchema {
    /// Migration N (1-based) takes the database from version N-1 to N. Append only: a released
    /// migration is never edited.
    static let migrations: [String] = [
        // 1: one row per client request (SPEC §5's columns; the exact integer figures the quota
        // ledgers are rebuilt from, gpu_ms and cost_microdollars; method, path, upstream_ms and
        // end_ts = ts + latency, the interval what-if needs), the daily rollups (status in the
        // key, so per-status counters can be seeded after rows are pruned; NULL user, model and
        // backend stored as ''), and the always-on backends' uptime segments per gateway run.
        """
        CREATE TABLE requests (
            id TEXT NOT NULL UNIQUE,
            client_request_id TEXT,
            ts REAL NOT NULL,
            end_ts REAL NOT NULL,
            method TEXT,
            path TEXT,
            user TEXT,
            key_id TEXT,
            model TEXT,
            task TEXT,
            backend TEXT,
            status INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            latency_ms REAL NOT NULL,
            ttfb_ms REAL,
            upstream_ms REAL,
            queue_ms REAL NOT NULL DEFAULT 0,
            cold_start INTEGER NOT NULL DEFAULT 0,
            gpu_seconds REAL NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            gpu_ms INTEGER NOT NULL DEFAULT 0,
            cost_microdollars INTEGER NOT NULL DEFAULT 0,
            bytes_in INTEGER NOT NULL DEFAULT 0,
            bytes_out INTEGER NOT NULL DEFAULT 0,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            error TEXT
        );
        CREATE INDEX requests_ts ON requests (ts);
        CREATE TABLE usage_daily (
            day TEXT NOT NULL,
            user TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL DEFAULT '',
            backend TEXT NOT NULL DEFAULT '',
            status INTEGER NOT NULL,
            requests INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0,
            gpu_ms INTEGER NOT NULL DEFAULT 0,
            cost_microdollars INTEGER NOT NULL DEFAULT 0,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            bytes_in INTEGER NOT NULL DEFAULT 0,
            bytes_out INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, user, model, backend, status)
        ) WITHOUT ROWID;
        CREATE TABLE backend_uptime (
            run TEXT NOT NULL,
            backend TEXT NOT NULL,
            per_hour_microdollars INTEGER NOT NULL,
            started REAL NOT NULL,
            last_seen REAL NOT NULL,
            PRIMARY KEY (run, backend)
        ) WITHOUT ROWID;
        """,
    ]

    /// The version this build writes.
    public static var currentVersion: Int64 { Int64(migrations.count) }

    /// Sets the writer's durability (WAL, synchronous=NORMAL: a crash loses at most the last
    /// committed batches' fsync, never the database — https://sqlite.org/wal.html) and brings
    /// the schema to `currentVersion`.
    /// - Returns: the version the database had before.
    @discardableResult
    public static func prepare(_ db: SQLiteConnection) throws(SQLiteError) -> Int64 {
        // journal_size_limit: after a checkpoint the WAL file is cut back to 64 MiB, so a burst
        // or a large prune does not leave it at its largest size for good
        // (https://sqlite.org/pragma.html#pragma_journal_size_limit).
        try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=67108864;")
        let found = try db.integer("PRAGMA user_version") ?? 0
        guard found <= currentVersion else {
            throw SQLiteError(code: 1, message: "the usage database has schema version \(found); this tollgate knows up to \(currentVersion) (written by a newer version?)")
        }
        var version = found
        while version < currentVersion {
            try db.execute("BEGIN IMMEDIATE")
            do {
                try db.execute(migrations[Int(version)])
                try db.execute("PRAGMA user_version = \(version + 1)")
                try db.execute("COMMIT")
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
            version += 1
        }
        return found
    }
}
