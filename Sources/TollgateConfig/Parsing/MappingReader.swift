// SPDX-License-Identifier: Apache-2.0
// A YAML mapping read as ordered (key, value) entries: non-text keys, duplicates and unknown
// keys are reported at the key's own line.
struct MappingReader {
    struct Entry {
        let key: String
        let keyLine: Int
        let value: ConfigNode
    }

    /// The mapping itself (its path names the owner in messages).
    let owner: ConfigNode
    /// Entries in file order; for a duplicated key only the last occurrence is kept (as in
    /// most YAML loaders).
    private(set) var entries: [Entry] = []
    /// Every occurrence, duplicates included, in file order: named collections walk them
    /// all so problems inside a shadowed duplicate are reported too.
    private(set) var allEntries: [Entry] = []
    /// Where "missing key" is reported.
    let ownerLine: Int

    /// nil after reporting when `node` is neither a mapping nor null (null reads as empty).
    /// `headerLine` overrides the line "missing key" problems are reported at (by default
    /// the key that introduced this mapping).
    init?(_ node: ConfigNode, headerLine: Int? = nil, expected: String = "a mapping") {
        owner = node
        ownerLine = headerLine ?? node.keyLine ?? node.line
        if node.isNull { return }
        guard case .mapping(let mapping) = node.node else {
            node.error("expected \(expected), got \(node.shapeDescription)")
            return nil
        }
        guard node.checkTag() else { return nil }

        var positions: [String: Int] = [:]
        for (keyNode, valueNode) in mapping {
            let keyLine = keyNode.line
            guard case .scalar(let scalar) = keyNode else {
                node.context.error(keyLine, node.path, "keys must be text, not a mapping or list")
                continue
            }
            let key = scalar.string
            let entry = Entry(key: key, keyLine: keyLine, value: node.child(valueNode, key: key, keyLine: keyLine))
            allEntries.append(entry)
            if let index = positions[key] {
                entries[index] = entry
            } else {
                positions[key] = entries.count
                entries.append(entry)
            }
        }
        var firstLine: [String: Int] = [:]
        for entry in allEntries {
            if let first = firstLine[entry.key] {
                node.context.error(entry.keyLine, node.path, "duplicate key '\(entry.key)' (first at line \(first))")
            } else {
                firstLine[entry.key] = entry.keyLine
            }
        }
    }

    /// Reports every key not in `allowed`. `misplaced` gives a specific message for keys that
    /// are valid elsewhere (e.g. a runpod key on an openai backend).
    func checkKeys(allowed: [String], misplaced: [String: String] = [:]) {
        for entry in entries where !allowed.contains(entry.key) {
            if let message = misplaced[entry.key] {
                owner.context.error(entry.keyLine, owner.path, message)
            } else {
                owner.context.error(entry.keyLine, owner.path,
                                    "unknown key '\(entry.key)'\(NameSuggester.hint(for: entry.key, among: allowed))")
            }
        }
    }

    /// The value of `key`, or nil when it is absent or null.
    subscript(key: String) -> ConfigNode? {
        guard let entry = entries.first(where: { $0.key == key }), !entry.value.isNull else { return nil }
        return entry.value
    }

    /// True when `key` is written, even with a null value.
    func contains(_ key: String) -> Bool {
        entries.contains { $0.key == key }
    }

    /// The line of `key`, or of the mapping when the key is absent.
    func line(of key: String) -> Int {
        entries.first { $0.key == key }?.keyLine ?? owner.line
    }

    /// The value of a required key; reports "missing key" at the owner's line (or "has no
    /// value" at the key's line) and returns nil.
    func required(_ key: String, note: String = "") -> ConfigNode? {
        if let value = self[key] { return value }
        if let entry = entries.first(where: { $0.key == key }) {
            owner.context.error(entry.keyLine, entry.value.path, "has no value\(note)")
        } else {
            owner.context.error(ownerLine, owner.path, "missing required key '\(key)'\(note)")
        }
        return nil
    }
}
