// SPDX-License-Identifier: Apache-2.0
// Config/prices.yaml: the what-if targets `tollgate report --what-if` prices logged traffic
// on, besides the configured backends. Same scalar rules and error format as the config.
/// One what-if target.
public struct PriceTarget: Sendable, Equatable {
    public let name: String
    public let pricing: Pricing
    /// always_on: requests one instance serves at once (more instances are priced when the
    /// logged peak concurrency exceeds it) [16].
    public let maxConcurrency: Int
    public let notes: String?
    /// Line of the entry in the file (0 when built in code).
    public let line: Int

    public init(name: String, pricing: Pricing, maxConcurrency: Int = 16, notes: String? = nil, line: Int = 0) {
        self.name = name
        self.pricing = pricing
        self.maxConcurrency = maxConcurrency
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
    static let targetKeys = ["name", "billing", "price", "max_concurrency", "notes"]

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
            let notes = t["notes"]?.string()
            guard let name, let pricing else { continue }
            result.append(PriceTarget(name: name, pricing: pricing, maxConcurrency: maxConcurrency, notes: notes,
                                      line: item.line))
        }
        return result
    }
}
