// SPDX-License-Identifier: Apache-2.0
// One SQLite connection, owned by one thread (the usage writer, or a reader). Opened with
// SQLITE_OPEN_NOMUTEX: the owner never shares it, so SQLite's own mutexes would only cost.
// C at the edge: every call checks its result code and turns it into a typed SQLiteError.
import CSQLite

public final class SQLiteConnection {
    let handle: OpaquePointer

    /// Opens (and with `create`, creates) the database at `path`.
    public init(path: String, readOnly: Bool = false, create: Bool = true) throws(SQLiteError) {
        _ = Self.libraryConfigured
        var db: OpaquePointer?
        var flags = SQLITE_OPEN_NOMUTEX
        flags |= readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message)
        }
        handle = db
        // Extended codes tell SQLITE_IOERR_WRITE from SQLITE_IOERR_FSYNC (fail closed, SPEC §4).
        sqlite3_extended_result_codes(db, 1)
        // A reader waits briefly for the writer's checkpoint instead of failing at once.
        sqlite3_busy_timeout(db, 2_000)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one or more statements that return no rows (pragmas, DDL, BEGIN/COMMIT).
    public func execute(_ sql: String) throws(SQLiteError) {
        var errorText: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorText)
        guard rc == SQLITE_OK else {
            let message = errorText.map { String(cString: $0) } ?? lastMessage
            sqlite3_free(errorText)
            throw SQLiteError(code: rc, message: message)
        }
    }

    /// Compiles one statement, to be bound and stepped many times.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw SQLiteError(code: rc, message: lastMessage) }
        return SQLiteStatement(statement, connection: self)
    }

    /// The integer in the first column of the first row of `sql` (a pragma, a count).
    public func integer(_ sql: String) throws(SQLiteError) -> Int64? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.int64(at: 0)
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Whether SQLite opened the main database read-only (it does so silently when the file
    /// cannot be opened for writing).
    public var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    /// False inside a transaction (BEGIN without COMMIT or ROLLBACK yet).
    public var isAutocommit: Bool { sqlite3_get_autocommit(handle) != 0 }

    /// The message of the last failed call on this connection.
    var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// SQLite's process-wide settings, made once before its first connection (a static let is
    /// initialised once, thread-safely): without memory statistics, which cost the writer some
    /// 29 mutex lock/unlock pairs a row (Benchmarks/PROFILE.md). Should SQLite be initialised
    /// already, the call is refused (SQLITE_MISUSE) and the defaults stay: only slower.
    static let libraryConfigured: Bool = tg_sqlite_config_without_memstatus() == SQLITE_OK

    /// The SQLite library this process runs with (`tollgate version`).
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}
