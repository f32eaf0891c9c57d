// SPDX-License-Identifier: Apache-2.0

/// Why `tollgate report` could not read the usage log.
public enum UsageReportError: Error, Equatable, CustomStringConvertible {
    /// No file at the path: the gateway has not run with this `storage.sqlite`, or a typo.
    case missingDatabase(path: String)
    /// A file that is not a usage log (no `requests` table).
    case notAUsageLog(path: String)
    case sqlite(path: String, SQLiteError)

    public var description: String {
        switch self {
        case .missingDatabase(let path):
            return "no usage database at \(path) (tollgate serve creates it; name another with --db FILE or --config FILE)"
        case .notAUsageLog(let path):
            return "\(path) has no 'requests' table: not a Tollgate usage database"
        case .sqlite(let path, let error):
            return "\(path): \(error.message) (SQLite error \(error.code))"
        }
    }
}
