// SPDX-License-Identifier: Apache-2.0
// Prometheus' text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format): per family
// one `# HELP` and one `# TYPE` line, then its samples, each family's samples together. Label
// values escape backslash, double quote and line feed; HELP text backslash and line feed. A
// series already written is refused, so two code paths can never expose it twice.

public struct PrometheusTextWriter {
    public enum MetricType: String, Sendable {
        case counter, gauge, histogram
    }

    /// The exposition so far.
    public private(set) var text = ""
    private var families: Set<String> = []
    private var series: Set<String> = []
    /// Samples refused because their series was already written (tests expect 0).
    public private(set) var duplicates = 0

    /// The Content-Type of this format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public init() {}

    /// Starts family `name`. A family started twice keeps its first HELP/TYPE lines.
    public mutating func family(_ name: String, _ type: MetricType, help: String) {
        guard families.insert(name).inserted else { return }
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type.rawValue)\n"
    }

    /// One sample line: `name{label="value",…} value`.
    public mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String>, _ value: String) {
        sample(name, labels: labels.map { (key: $0.key, value: $0.value) }, value)
    }

    /// A sample without labels.
    public mutating func sample(_ name: String, _ value: String) {
        sample(name, labels: [], value)
    }

    public mutating func sample(_ name: String, labels: [(key: String, value: String)], _ value: String) {
        var line = name
        if !labels.isEmpty {
            line += "{"
            for (index, label) in labels.enumerated() {
                if index > 0 { line += "," }
                line += label.key + "=\"" + Self.escapeLabelValue(label.value) + "\""
            }
            line += "}"
        }
        guard series.insert(line).inserted else {
            duplicates += 1
            return
        }
        text += line + " " + value + "\n"
    }

    /// A histogram's `_bucket` lines (cumulative, `le` last), `_sum` and `_count`.
    public mutating func histogram(_ name: String, labels: [(key: String, value: String)], _ histogram: LatencyHistogram) {
        let cumulative = histogram.cumulativeCounts
        for (index, bound) in LatencyHistogram.boundLabels.enumerated() where index < cumulative.count {
            sample(name + "_bucket", labels: labels + [(key: "le", value: bound)], String(cumulative[index]))
        }
        sample(name + "_sum", labels: labels, Self.number(histogram.sum))
        sample(name + "_count", labels: labels, String(histogram.count))
    }

    /// `\` → `\\`, `"` → `\"`, line feed → `\n` (the format's three escapes in label values).
    public static func escapeLabelValue(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == 0x0A }) else {
            return value
        }
        var result = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// HELP text escapes only backslash and line feed.
    public static func escapeHelp(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// A float as the format spells it: `+Inf`, `-Inf`, `NaN`, else Swift's shortest
    /// round-trip form (`0.25`, `1e-05`), which Go's ParseFloat reads.
    public static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return value.description
    }
}
