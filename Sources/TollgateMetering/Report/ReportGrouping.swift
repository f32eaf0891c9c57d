// SPDX-License-Identifier: Apache-2.0

/// What `report --by` groups the period's rows by (SPEC §1).
public enum ReportGrouping: String, Sendable, Equatable, CaseIterable {
    case user, model, backend, day

    /// The SQL expression over `requests` that names a row's group. Days are UTC calendar days
    /// of the request's start (M9 contract), as the rollups' `day` column.
    var sqlExpression: String {
        switch self {
        case .user: return "user"
        case .model: return "model"
        case .backend: return "backend"
        case .day: return "strftime('%Y-%m-%d', ts, 'unixepoch')"
        }
    }

    /// Days read best in calendar order; the others most expensive first.
    var sqlOrder: String {
        self == .day ? "1 ASC" : "cost DESC, requests DESC, 1 ASC"
    }
}
