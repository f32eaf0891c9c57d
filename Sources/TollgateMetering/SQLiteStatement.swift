// SPDX-License-Identifier: Apache-2.0
// A prepared statement: bind by 1-based index, step, read columns by 0-based index, reset for the
// next row (https://sqlite.org/c3ref/stmt.html). Text is bound as a copy (SQLITE_TRANSIENT), so a
// Swift string's buffer never has to outlive the call.
import CSQLite

public final class SQLiteStatement {
    private let statement: OpaquePointer
    /// Keeps the connection open while the statement exists (sqlite3_close_v2 would defer anyway).
    private let connection: SQLiteConnection

    init(_ statement: OpaquePointer, connection: SQLiteConnection) {
        self.statement = statement
        self.connection = connection
    }

    deinit { sqlite3_finalize(statement) }

    public func bind(_ value: Int64?, at index: Int32) throws(SQLiteError) {
        let rc = value.map { sqlite3_bind_int64(statement, index, $0) } ?? sqlite3_bind_null(statement, index)
        try check(rc)
    }

    public func bind(_ value: Double?, at index: Int32) throws(SQLiteError) {
        let rc = value.map { sqlite3_bind_double(statement, index, $0) } ?? sqlite3_bind_null(statement, index)
        try check(rc)
    }

    public func bind(_ value: String?, at index: Int32) throws(SQLiteError) {
        guard var text = value else { return try check(sqlite3_bind_null(statement, index)) }
        let rc = text.withUTF8 { bytes in
            // A string longer than Int32.max bytes cannot be a column of ours: refused, not cut.
            guard bytes.count <= Int(Int32.max) else { return SQLITE_TOOBIG }
            // An empty string is text, not NULL: SQLite reads a NULL pointer as SQL NULL.
            guard let base = bytes.baseAddress, bytes.count > 0 else { return tg_sqlite_bind_text_copy(statement, index, "", 0) }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { chars in
                tg_sqlite_bind_text_copy(statement, index, chars, Int32(bytes.count))
            }
        }
        try check(rc)
    }

    /// Runs to the next row: true with a row to read, false when the statement is done.
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(statement)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw SQLiteError(code: rc, message: connection.lastMessage)
    }

    /// Ready for the next binding and step; bindings are cleared to NULL unless
    /// `keepingBindings` (a statement whose every parameter is bound before each step: clearing
    /// them was about a tenth of the usage writer's work per row).
    public func reset(keepingBindings: Bool = false) {
        sqlite3_reset(statement)
        if !keepingBindings { sqlite3_clear_bindings(statement) }
    }

    /// Binds `bytes` as text that SQLite reads in place (SQLITE_STATIC, no copy): the caller
    /// keeps the bytes valid and unchanged until this parameter is bound again or the statement
    /// is finalized, so every step that may read them sees them (https://sqlite.org/c3ref/bind_blob.html).
    public func bind(borrowedText bytes: UnsafeRawBufferPointer, at index: Int32) throws(SQLiteError) {
        guard bytes.count <= Int(Int32.max) else { return try check(SQLITE_TOOBIG) }
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            return try check(tg_sqlite_bind_text_copy(statement, index, "", 0))
        }
        try check(sqlite3_bind_text(statement, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil))
    }

    /// Binds `bytes` as text (copied now, like a String).
    public func bind(text bytes: UnsafeRawBufferPointer, at index: Int32) throws(SQLiteError) {
        guard bytes.count <= Int(Int32.max) else { return try check(SQLITE_TOOBIG) }
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            return try check(tg_sqlite_bind_text_copy(statement, index, "", 0))
        }
        try check(tg_sqlite_bind_text_copy(statement, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count)))
    }

    public func int64(at column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }
    public func double(at column: Int32) -> Double { sqlite3_column_double(statement, column) }
    public func isNull(at column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    public func text(at column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(statement, column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    private func check(_ rc: Int32) throws(SQLiteError) {
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: connection.lastMessage) }
    }
}
