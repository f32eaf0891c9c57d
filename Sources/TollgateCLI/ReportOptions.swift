// SPDX-License-Identifier: Apache-2.0
public import TollgateCore

/// `tollgate report`'s options, typed and checked (SPEC §1).
public struct ReportOptions: Sendable, Equatable {
    /// Where the database is named: `--db FILE`, or the config whose `storage.sqlite` names it.
    public enum Source: Sendable, Equatable {
        case database(String)
        case config(String)
    }

    public enum Grouping: String, Sendable, Equatable, CaseIterable {
        case user, model, backend, day
    }

    public enum Format: String, Sendable, Equatable, CaseIterable {
        case table, json, csv
    }

    public let source: Source
    public let since: PeriodBound
    /// nil: now.
    public let until: PeriodBound?
    public let grouping: Grouping
    public let whatIf: Bool
    /// nil: `Config/prices.yaml` when it exists.
    public let prices: String?
    public let format: Format

    public init(source: Source, since: PeriodBound = .ago(seconds: 30 * 86_400), until: PeriodBound? = nil,
                grouping: Grouping = .model, whatIf: Bool = false, prices: String? = nil, format: Format = .table) {
        self.source = source
        self.since = since
        self.until = until
        self.grouping = grouping
        self.whatIf = whatIf
        self.prices = prices
        self.format = format
    }
}
