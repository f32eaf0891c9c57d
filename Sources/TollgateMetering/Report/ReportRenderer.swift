// SPDX-License-Identifier: Apache-2.0
// `report --format table|json|csv`. Figures are written from the integers (FixedPointText), so the
// JSON's cost_usd is the exact sum of the rows' cost_microdollars, never a float's rounding.
import TollgateCore

public enum ReportRenderer {
    public enum Format: String, Sendable, CaseIterable {
        case table, json, csv
    }

    /// The whole output, ending without a newline.
    public static func render(_ report: UsageReport, as format: Format) -> String {
        switch format {
        case .table: return table(report)
        case .json: return json(report)
        case .csv: return csv(report)
        }
    }

    // MARK: - JSON (SPEC §1's shape, with a few fields more)

    static func json(_ report: UsageReport) -> String {
        let by = report.grouping.rawValue
        var out = "{\"since\":\(JSONText.quoted(ReportPeriod.timestampText(unixMs: report.period.startMs)))"
        out += ",\"until\":\(JSONText.quoted(ReportPeriod.timestampText(unixMs: report.period.endMs)))"
        out += ",\"hours\":\(report.period.hours),\"by\":\(JSONText.quoted(by))"
        out += ",\"totals\":\(jsonFigures(report.totals, key: nil))"
        out += ",\"rows\":[" + report.rows.map { jsonFigures($0, key: by) }.joined(separator: ",") + "]"
        if let traffic = report.traffic {
            out += ",\"priced_requests\":\(traffic.count),\"peak_concurrency\":\(traffic.peakConcurrency)"
        }
        out += ",\"what_if\":[" + report.whatIf.map(jsonEstimate).joined(separator: ",") + "]}"
        return out
    }

    private static func jsonFigures(_ figures: ReportFigures, key: String?) -> String {
        var fields: [String] = []
        if let key { fields.append("\(JSONText.quoted(key)):\(figures.key.map(JSONText.quoted) ?? "null")") }
        fields.append("\"requests\":\(figures.requests)")
        fields.append("\"errors\":\(figures.errors)")
        fields.append("\"gpu_seconds\":\(figures.gpu.secondsText)")
        fields.append("\"cost_usd\":\(figures.cost.description)")
        return "{" + fields.joined(separator: ",") + "}"
    }

    private static func jsonEstimate(_ estimate: WhatIfEstimate) -> String {
        let target = estimate.target
        var fields = [
            "\"target\":\(JSONText.quoted(target.name))",
            "\"billing\":\(target.cost.billingName.map(JSONText.quoted) ?? "null")",
            "\"cost_usd\":\(estimate.cost.description)",
            "\"basis\":\(JSONText.quoted(estimate.basis))",
            "\"origin\":\(JSONText.quoted(target.origin.rawValue))",
            "\"billed_seconds\":\(MilliGPUSeconds(estimate.billedMs).secondsText)",
            "\"instances\":\(estimate.instances)",
            "\"wakes\":\(estimate.wakes)",
        ]
        fields.append("\"source\":\(target.source.map(JSONText.quoted) ?? "null")")
        fields.append("\"as_of\":\(target.asOf.map(JSONText.quoted) ?? "null")")
        fields.append("\"notes\":\(target.notes.map(JSONText.quoted) ?? "null")")
        return "{" + fields.joined(separator: ",") + "}"
    }

    // MARK: - CSV (RFC 4180)

    /// One table with a header line: the rows, or with --what-if the what-if targets (a CSV
    /// file holds one table; `--format json` has both).
    static func csv(_ report: UsageReport) -> String {
        var lines: [[String]]
        if report.traffic != nil {
            lines = [["target", "billing", "cost_usd", "basis", "origin", "source", "as_of"]]
            for estimate in report.whatIf {
                let target = estimate.target
                lines.append([target.name, target.cost.billingName ?? "", estimate.cost.description, estimate.basis,
                              target.origin.rawValue, target.source ?? "", target.asOf ?? ""])
            }
        } else {
            lines = [[report.grouping.rawValue, "requests", "errors", "gpu_seconds", "cost_usd"]]
            for row in report.rows {
                lines.append([row.key ?? "", "\(row.requests)", "\(row.errors)", row.gpu.secondsText,
                              row.cost.description])
            }
        }
        return lines.map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n")
    }

    /// RFC 4180 §2: a field with a comma, a double quote or a line break is enclosed in double
    /// quotes, and a double quote inside is doubled.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else {
            return text
        }
        var quoted = "\""
        for character in text {
            if character == "\"" { quoted += "\"\"" } else { quoted.append(character) }
        }
        return quoted + "\""
    }

    // MARK: - Table

    static func table(_ report: UsageReport) -> String {
        let since = ReportPeriod.timestampText(unixMs: report.period.startMs)
        let until = ReportPeriod.timestampText(unixMs: report.period.endMs)
        var lines = ["Usage \(since) to \(until) (\(WhatIfPricer.hours(report.period.milliseconds)) h), by \(report.grouping.rawValue)", ""]
        var grid = [[report.grouping.rawValue, "requests", "errors", "gpu_seconds", "cost_usd"]]
        for row in report.rows {
            grid.append([row.key ?? placeholder(for: report.grouping), "\(row.requests)", "\(row.errors)",
                         row.gpu.secondsText, row.cost.description])
        }
        let totals = report.totals
        grid.append(["total", "\(totals.requests)", "\(totals.errors)", totals.gpu.secondsText, totals.cost.description])
        lines += aligned(grid, rightAligned: [1, 2, 3, 4])

        if let traffic = report.traffic {
            lines += ["", "What if the same \(traffic.count) \(traffic.count == 1 ? "request" : "requests") that reached a backend "
                      + "(peak \(traffic.peakConcurrency) in flight) ran elsewhere, cheapest first:", ""]
            var estimates = [["target", "billing", "cost_usd", "basis"]]
            for estimate in report.whatIf {
                estimates.append([estimate.target.name, estimate.target.cost.billingName ?? "-",
                                  estimate.cost.description, estimate.basis])
            }
            if report.whatIf.isEmpty {
                lines.append("(no targets: the config has no priced backend and no price list was read; pass --prices FILE)")
            } else {
                lines += aligned(estimates, rightAligned: [2])
            }
            // One line per page read, in the table's order: the age of every figure shows.
            var sources: [String] = []
            for estimate in report.whatIf {
                guard let source = estimate.target.source else { continue }
                let line = "  \(source) (as of \(estimate.target.asOf ?? "?"))"
                if !sources.contains(line) { sources.append(line) }
            }
            if !sources.isEmpty { lines += ["", "Prices from:"] + sources }
        }
        return lines.joined(separator: "\n")
    }

    private static func placeholder(for grouping: ReportGrouping) -> String {
        switch grouping {
        case .user: return "(no user)"
        case .backend: return "(no backend)"
        case .model, .day: return "(none)"
        }
    }

    /// Columns padded to their widest cell, two spaces apart; the last column is not padded.
    private static func aligned(_ grid: [[String]], rightAligned: Set<Int>) -> [String] {
        let columns = grid.map(\.count).max() ?? 0
        var widths = Array(repeating: 0, count: columns)
        for row in grid {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return grid.map { row in
            var line = ""
            for (index, cell) in row.enumerated() {
                let gap = String(repeating: " ", count: widths[index] - cell.count)
                let isLast = index == row.count - 1
                if index > 0 { line += "  " }
                if rightAligned.contains(index) {
                    line += gap + cell
                } else {
                    line += isLast ? cell : cell + gap
                }
            }
            return line
        }
    }
}
