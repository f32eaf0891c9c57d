// SPDX-License-Identifier: Apache-2.0

/// Everything `tollgate report` prints, computed before any of it is written.
public struct UsageReport: Sendable, Equatable {
    public let period: ReportPeriod
    public let grouping: ReportGrouping
    public let totals: ReportFigures
    public let rows: [ReportFigures]
    /// The traffic the what-if figures price (requests that reached a backend); nil without --what-if.
    public let traffic: WhatIfTraffic?
    /// Cheapest first; empty without --what-if.
    public let whatIf: [WhatIfEstimate]

    public init(period: ReportPeriod, grouping: ReportGrouping, totals: ReportFigures, rows: [ReportFigures],
                traffic: WhatIfTraffic? = nil, whatIf: [WhatIfEstimate] = []) {
        self.period = period
        self.grouping = grouping
        self.totals = totals
        self.rows = rows
        self.traffic = traffic
        self.whatIf = whatIf.sorted { ($0.cost, $0.target.name) < ($1.cost, $1.target.name) }
    }

    /// Reads the period from `query` and prices it on `targets` (none: no what-if).
    public static func build(from query: UsageReportQuery, period: ReportPeriod, grouping: ReportGrouping,
                             targets: [WhatIfTarget]?) throws(UsageReportError) -> UsageReport {
        let totals = try query.totals(in: period)
        let rows = try query.rows(in: period, by: grouping)
        guard let targets else { return UsageReport(period: period, grouping: grouping, totals: totals, rows: rows) }
        let traffic = try query.traffic(in: period)
        let estimates = targets.map { WhatIfPricer.estimate(traffic, on: $0, over: period) }
        return UsageReport(period: period, grouping: grouping, totals: totals, rows: rows, traffic: traffic,
                           whatIf: estimates)
    }
}
