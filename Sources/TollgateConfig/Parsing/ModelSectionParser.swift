// SPDX-License-Identifier: Apache-2.0
import TollgateCore

/// `models:` → [ModelConfig]; every backend named must be declared under `backends:`.
enum ModelSectionParser {
    static let keys = ["task", "backends", "max_latency", "attempts", "queue_timeout"]

    /// `declaredBackends`: every name under `backends:`, valid or not, so one broken backend
    /// does not also produce "unknown backend" errors for each model that uses it.
    static func parse(_ node: ConfigNode?, declaredBackends: [String]) -> [ModelConfig] {
        guard let node, let m = MappingReader(node, expected: "a mapping of model name → settings") else { return [] }
        var result: [ModelConfig] = []
        for entry in m.allEntries {
            guard NameRules.check(entry.key, kind: "model", line: entry.keyLine, path: node.path, context: node.context),
                  let model = parseModel(name: entry.key, nameLine: entry.keyLine, node: entry.value,
                                         declaredBackends: declaredBackends) else { continue }
            result.append(model)
        }
        return result
    }

    static func parseModel(name: String, nameLine: Int, node: ConfigNode, declaredBackends: [String]) -> ModelConfig? {
        guard let m = MappingReader(node, expected: "a mapping of model settings") else { return nil }
        m.checkKeys(allowed: keys)
        let tasks = ModelTask.allCases.map(\.rawValue).joined(separator: " | ")
        let task = m.required("task", note: " (\(tasks))")?.choice(ModelTask.self)

        var backends: [String] = []
        var ok = true
        if let list = m.required("backends", note: " (the backends that serve it)")?
            .list(expected: "a list of backend names (e.g. [my-3090, runpod-l4])") {
            if list.isEmpty {
                m.owner.context.error(m.line(of: "backends"), m.owner.path, "backends must name at least one backend")
                ok = false
            }
            var firstLine: [String: Int] = [:]
            for item in list {
                guard let backend = item.nonEmptyString(expected: "a backend name") else {
                    ok = false
                    continue
                }
                if let earlier = firstLine[backend] {
                    item.error("backend '\(backend)' is listed twice (first at line \(earlier))")
                    ok = false
                    continue
                }
                firstLine[backend] = item.line
                if !declaredBackends.contains(backend) {
                    let hint = NameSuggester.hint(for: backend, among: declaredBackends)
                    item.error("unknown backend '\(ConfigNode.clip(backend))'\(hint.isEmpty && declaredBackends.isEmpty ? " (no backends are defined)" : hint)")
                    ok = false
                    continue
                }
                backends.append(backend)
            }
        } else {
            ok = false
        }

        let maxLatency = m["max_latency"]?.duration(minimum: .milliseconds(1))
        let attempts = m["attempts"]?.integer(1...100) ?? 3
        let queueTimeout = m["queue_timeout"]?.duration() ?? .seconds(10)
        guard ok, let task else { return nil }
        return ModelConfig(name: name, task: task, backends: backends, maxLatency: maxLatency, attempts: attempts,
                           queueTimeout: queueTimeout, line: nameLine)
    }
}
