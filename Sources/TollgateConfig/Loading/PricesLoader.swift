// SPDX-License-Identifier: Apache-2.0
// Config/prices.yaml: the what-if targets `tollgate report --what-if` prices logged traffic
// on, besides the configured backends. Same scalar rules and error format as the config.
import TollgateCore
/// One what-if target.
public struct PriceTarget: Sendable, Equatable {
    public let name: String
    public let pricing: Pricing
    /// always_on: requests one instance serves at once (more instances are priced when the
    /// logged peak concurrency exceeds it) [16].
    public let maxConcurrency: Int
    /// always_on only: billing stops after this long without a request (HF Spaces' sleep time);
    /// nil = never sleeps.
    public let sleepAfter: Duration?
    /// Billed wake-up time: per wake after a sleep (always_on with sleep_after), per cold start
    /// (per_second) [0].
    public let coldStart: Duration
    /// The page the price was read from (http or https URL), so every figure can be traced.
    public let source: String
    /// The day it was read, `YYYY-MM-DD`, so its age shows.
    public let asOf: String
    public let notes: String?
    /// Line of the entry in the file (0 when built in code).
    public let line: Int

    public init(name: String, pricing: Pricing, maxConcurrency: Int = 16, sleepAfter: Duration? = nil,
                coldStart: Duration = .zero, source: String, asOf: String, notes: String? = nil, line: Int = 0) {
        self.name = name
        self.pricing = pricing
        self.maxConcurrency = maxConcurrency
        self.sleepAfter = sleepAfter
        self.coldStart = coldStart
        self.source = source
        self.asOf = asOf
        self.notes = notes
        self.line = line
    }
}

public struct PricesLoadResult: Sendable {
    /// nil when any diagnostic is an error.
    public let targets: [PriceTarget]?
    public let diagnostics: [ConfigDiagnostic]
}

public enum PricesLoader {
    static let targetKeys = ["name", "billing", "price", "max_concurrency", "sleep_after", "cold_start", "source",
                             "as_of", "notes"]

    public static func load(path: String, environment: [String: String]) -> PricesLoadResult {
        do {
            return load(yaml: try FileSystem.readText(path), file: path, environment: environment)
        } catch {
            let diagnostic = ConfigDiagnostic(file: path, line: error.line, message: error.description, severity: .error)
            return PricesLoadResult(targets: nil, diagnostics: [diagnostic])
        }
    }

    public static func load(yaml: String, file: String, environment: [String: String]) -> PricesLoadResult {
        let context = ConfigContext(file: file, environment: environment)
        guard let root = YAMLComposer.compose(yaml, context: context) else {
            return PricesLoadResult(targets: nil, diagnostics: context.diagnostics)
        }
        let targets = parse(ConfigNode(node: root, path: "", context: context))
        return PricesLoadResult(targets: context.hasErrors ? nil : targets, diagnostics: context.diagnostics)
    }

    static func parse(_ root: ConfigNode) -> [PriceTarget] {
        guard case .mapping = root.node, let m = MappingReader(root) else {
            root.error("expected a mapping with a 'targets' list, got \(root.shapeDescription)")
            return []
        }
        m.checkKeys(allowed: ["targets"])
        guard let list = m.required("targets")?.list(expected: "a list of targets") else { return [] }
        var result: [PriceTarget] = []
        var firstLine: [String: Int] = [:]
        for item in list {
            guard let t = MappingReader(item, expected: "a mapping with name, billing and price") else { continue }
            t.checkKeys(allowed: targetKeys)
            let name = t.required("name")?.nonEmptyString(expected: "a name")
            if let name, let nameNode = t["name"] {
                if let earlier = firstLine[name] {
                    nameNode.error("target '\(name)' is listed twice (first at line \(earlier))")
                    continue
                }
                firstLine[name] = nameNode.line
                guard NameRules.check(name, kind: "target", line: nameNode.line, path: nameNode.path,
                                      context: root.context) else { continue }
            }
            let pricing = PricingParser.parse(t)
            if pricing == nil, !t.contains("price"), !t.contains("billing") {
                root.context.error(item.line, item.path, "a target needs billing and price")
            }
            let maxConcurrency = t["max_concurrency"]?.integer(1...100_000) ?? 16
            let sleepAfter = t["sleep_after"]?.duration(minimum: .milliseconds(1))
            let coldStart = t["cold_start"]?.duration()
            if let billing = pricing?.billing {
                if billing != .alwaysOn, t.contains("sleep_after") {
                    t["sleep_after"]?.error("sleep_after applies only to always_on targets (billing stops when idle)")
                }
                if billing == .perRequest, t.contains("cold_start") {
                    t["cold_start"]?.error("cold_start applies only to per_second and always_on targets")
                } else if billing == .alwaysOn, t.contains("cold_start"), !t.contains("sleep_after") {
                    t["cold_start"]?.error("cold_start on an always_on target needs sleep_after (an instance that never sleeps never wakes)")
                }
            }
            let source = t.required("source", note: " (the URL the price was read from)").flatMap(sourceURL)
            let asOf = t.required("as_of", note: " (the day the price was read, YYYY-MM-DD)").flatMap(day)
            let notes = t["notes"]?.string()
            guard let name, let pricing, let source, let asOf else { continue }
            result.append(PriceTarget(name: name, pricing: pricing, maxConcurrency: maxConcurrency,
                                      sleepAfter: sleepAfter, coldStart: coldStart ?? .zero, source: source,
                                      asOf: asOf, notes: notes, line: item.line))
        }
        return result
    }

    /// An http(s) URL with a host: the price's page, not a note about it.
    static func sourceURL(_ node: ConfigNode) -> String? {
        guard let text = node.nonEmptyString(expected: "a URL") else { return nil }
        let rest: Substring
        if text.hasPrefix("https://") {
            rest = text.dropFirst(8)
        } else if text.hasPrefix("http://") {
            rest = text.dropFirst(7)
        } else {
            node.error("expected the http(s) URL of the page the price was read from, got '\(ConfigNode.clip(text))'")
            return nil
        }
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !host.isEmpty, !text.contains(where: { $0 == " " || $0.isNewline }) else {
            node.error("expected the http(s) URL of the page the price was read from, got '\(ConfigNode.clip(text))'")
            return nil
        }
        return text
    }

    /// `YYYY-MM-DD`, a real calendar day (February 30 is refused).
    static func day(_ node: ConfigNode) -> String? {
        guard let text = node.string(expected: "a date YYYY-MM-DD") else { return nil }
        guard CivilDate(text: text) != nil else {
            node.error("expected a date YYYY-MM-DD (the day the price was read), got '\(ConfigNode.clip(text))'")
            return nil
        }
        return text
    }
}
