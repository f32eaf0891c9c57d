// SPDX-License-Identifier: Apache-2.0
// Keys the schema accepts (SPEC §2) whose behaviour has not landed yet: health probes,
// circuits, idle actions and the router's inputs (limits, quotas and budgets are enforced since
// issue 11). A config that sets them must not look protected when it is not, so `serve`
// names each one present at start-up (issue 7 item 11). Entries leave this list as their
// issues land.
public struct InertKey: Sendable, Equatable {
    /// Dotted path, e.g. `backends.box.health` or `users.alice.limits`.
    public let path: String
    public let line: Int
    /// What does not happen yet.
    public let reason: String
}

enum InertKeys {
    private static let routing = "the cost-aware router, health and circuits are not active yet"

    private static let model: [String: String] = ["max_latency": routing, "queue_timeout": routing]
    private static let backend: [String: String] = [
        "max_concurrency": routing, "expected_run": routing,
        "health": routing, "circuit": routing,
        "idle": "idle actions are not taken yet",
    ]

    static func find(in root: YAMLNode) -> [InertKey] {
        var found: [InertKey] = []
        for (name, _, value) in entries(of: root) {
            switch name {
            case "models", "backends":
                for (entryName, _, entry) in entries(of: value) {
                    let prefix = "\(name).\(entryName)"
                    switch name {
                    case "models": collect(entry, prefix: prefix, keys: model, into: &found)
                    default:
                        var keys = backend
                        // The simulated kind uses cold_start itself (its wake-up delay).
                        if !isSimulated(entry) { keys["cold_start"] = routing }
                        collect(entry, prefix: prefix, keys: keys, into: &found)
                    }
                }
            default: break
            }
        }
        return found.sorted { $0.line < $1.line }
    }

    private static func collect(_ node: YAMLNode, prefix: String, keys: [String: String], into found: inout [InertKey]) {
        for (name, line, value) in entries(of: node) {
            guard let reason = keys[name], !isUnset(value) else { continue }
            found.append(InertKey(path: "\(prefix).\(name)", line: line, reason: reason))
        }
    }

    private static func isSimulated(_ backend: YAMLNode) -> Bool {
        entries(of: backend).contains { entry in
            guard entry.name == "kind", case .scalar(let kind) = entry.value else { return false }
            return kind.string == "simulated"
        }
    }

    /// `null`, `~`, nothing, or an empty list or mapping: "not set" (SPEC §2).
    private static func isUnset(_ node: YAMLNode) -> Bool {
        switch node {
        case .scalar(let scalar): return scalar.style == .plain && ["", "~", "null"].contains(scalar.string)
        case .mapping(let mapping): return mapping.count == 0
        case .sequence(let sequence): return sequence.count == 0
        }
    }

    /// Text keys in file order; a repeated key once, at its last occurrence (the one read).
    private static func entries(of node: YAMLNode) -> [(name: String, line: Int, value: YAMLNode)] {
        guard case .mapping(let mapping) = node else { return [] }
        return mapping.lastOfEachKey.compactMap { pair in
            guard case .scalar(let scalar) = pair.key else { return nil }
            return (scalar.string, pair.key.line, pair.value)
        }
    }
}
