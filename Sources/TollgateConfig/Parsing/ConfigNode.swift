// SPDX-License-Identifier: Apache-2.0
// A YAML node with its dotted path (`backends.gpu.timeout`) and the load's context, so every
// reader can report at the node's own line without threading three arguments around.
/// The text of one scalar after `${VAR}` expansion.
struct ScalarText {
    var text: String
    var origin: ValueOrigin
    /// As written in the file, before expansion.
    var raw: String
    /// Written in quotes or as a block scalar: the author meant text.
    var isQuoted: Bool
}

struct ConfigNode {
    let node: YAMLNode
    let path: String
    let context: ConfigContext
    /// The line of the mapping key this node is the value of: "missing key" problems are
    /// reported there, since a block mapping itself starts at its first key.
    let keyLine: Int?

    init(node: YAMLNode, path: String, context: ConfigContext, keyLine: Int? = nil) {
        self.node = node
        self.path = path
        self.context = context
        self.keyLine = keyLine
    }

    /// 1-based line where the node starts.
    var line: Int { node.line }

    /// A plain `~`, `null` or nothing at all: YAML's way of writing "no value". The loader
    /// treats it as an absent key, so `users:` with every user commented out is fine.
    var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// "a mapping", "a list" or "'text'" for "expected X, got Y" messages.
    var shapeDescription: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let scalar):
            if isNull { return "nothing" }
            return isSensitive ? "a single value" : "'\(Self.clip(scalar.string))'"
        }
    }

    /// Where a value may be a secret (keys, tokens, header values): messages then describe
    /// its shape without quoting it.
    var isSensitive: Bool {
        let components = path.split(separator: ".")
        guard let last = components.last else { return false }
        let name = last.split(separator: "[").first.map(String.init) ?? ""
        // A user's entry given as a single value is most likely a key written in place of
        // the user's settings (`alice: tg-…`).
        return ["admin", "key", "keys", "api_key", "token", "token_secret", "headers"].contains(name)
            || components.dropLast().last == "headers"
            || (components.count == 2 && components.first == "users")
    }

    func child(_ node: YAMLNode, key: String, keyLine: Int?) -> ConfigNode {
        ConfigNode(node: node, path: path.isEmpty ? key : "\(path).\(key)", context: context, keyLine: keyLine)
    }

    func item(_ node: YAMLNode, index: Int) -> ConfigNode {
        ConfigNode(node: node, path: "\(path)[\(index)]", context: context)
    }

    func error(_ message: String) { context.error(line, path, message) }
    func warning(_ message: String) { context.warning(line, path, message) }

    /// The expanded text of a scalar; reports (and returns nil) for a mapping or list, an
    /// unknown tag or a variable problem. `expected` completes "expected …, got a list".
    func scalar(expected: String) -> ScalarText? {
        guard case .scalar(let scalar) = node else {
            error("expected \(expected), got \(shapeDescription)")
            return nil
        }
        guard checkTag() else { return nil }
        switch context.expander.expand(scalar.string) {
        case .success(let expanded):
            return ScalarText(text: expanded.text, origin: expanded.origin, raw: scalar.string,
                              isQuoted: scalar.style != .plain)
        case .failure(let list):
            for problem in list.problems { error(problem.message) }
            return nil
        }
    }

    /// The elements of a list; null is an empty list. A single scalar is not promoted to a
    /// list: `keys: abc` is more likely a mistake than a one-element list.
    func list(expected: String) -> [ConfigNode]? {
        if isNull { return [] }
        guard case .sequence(let sequence) = node else {
            error("expected \(expected), got \(shapeDescription)")
            return nil
        }
        guard checkTag() else { return nil }
        return sequence.enumerated().map { item($0.element, index: $0.offset) }
    }

    /// Standard `!!str`-style tags are tolerated (the key decides the type anyway); any other
    /// tag (`!secret`, `!include`) would mean something this loader does not do.
    func checkTag() -> Bool {
        let tag = node.tag
        if tag.isEmpty || tag == "!" || tag.hasPrefix("tag:yaml.org,2002:") { return true }
        error("YAML tag '\(tag)' is not supported")
        return false
    }

    /// Long values are cut in messages; they are for finding the line, not for reproducing it.
    static func clip(_ text: String) -> String {
        text.count > 60 ? String(text.prefix(57)) + "..." : text
    }
}
