// SPDX-License-Identifier: Apache-2.0
// Every failure of the SQLite layer as one value: the result code (https://sqlite.org/rescode.html)
// and SQLite's own message, so a full disk (SQLITE_FULL) or a read-only file (SQLITE_READONLY)
// can be told apart by the writer's fail-closed logic (SPEC §4).

public struct SQLiteError: Error, Equatable, CustomStringConvertible {
    /// The primary or extended result code.
    public let code: Int32
    public let message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// The primary result code (the low byte of an extended one).
    public var primaryCode: Int32 { code & 0xFF }

    public var description: String { "SQLite error \(code): \(message)" }
}
