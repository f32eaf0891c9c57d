// SPDX-License-Identifier: Apache-2.0

/// `users:` → [UserConfig]. Keys are unique across all users (a key identifies exactly one
/// user), groups and models must exist.
enum UserSectionParser {
    static let keys = ["keys", "group", "models", "limits"]

    static func parse(_ node: ConfigNode?, declaredGroups: [String], declaredModels: [String]) -> [UserConfig] {
        guard let node, let m = MappingReader(node, expected: "a mapping of user name → settings") else { return [] }
        var result: [UserConfig] = []
        var owners: [KeyOwner] = []
        for entry in m.allEntries {
            guard NameRules.check(entry.key, kind: "user", line: entry.keyLine, path: node.path, context: node.context),
                  let user = parseUser(name: entry.key, nameLine: entry.keyLine, node: entry.value, owners: &owners,
                                       declaredGroups: declaredGroups, declaredModels: declaredModels) else { continue }
            result.append(user)
        }
        return result
    }

    /// Who holds a key digest already (to report a key shared by two users).
    struct KeyOwner {
        var digest: [UInt8]
        var user: String
        var line: Int
    }

    static func parseUser(name: String, nameLine: Int, node: ConfigNode, owners: inout [KeyOwner],
                          declaredGroups: [String], declaredModels: [String]) -> UserConfig? {
        guard let m = MappingReader(node, expected: "a mapping of user settings") else { return nil }
        m.checkKeys(allowed: keys)
        var ok = true

        var keys: [ClientKey] = []
        if let list = m.required("keys", note: " (the user's API keys)")?
            .list(expected: "a list of keys (e.g. [\"${ALICE_KEY}\"])") {
            if list.isEmpty {
                m.owner.context.error(m.line(of: "keys"), m.owner.path, "keys must list at least one key")
                ok = false
            }
            for item in list {
                guard let key = item.clientKey(allowEmpty: false).key else {
                    ok = false
                    continue
                }
                // Digests are compared, so the same key written once in plaintext and once
                // as sha256:… is caught too. The message never shows the key.
                if let owner = owners.first(where: { $0.digest == key.digest }) {
                    let what = owner.user == name ? "this user already lists the same key" : "user '\(owner.user)' already uses the same key"
                    item.error("\(what) (line \(owner.line)); every key must identify exactly one user")
                    ok = false
                    continue
                }
                owners.append(KeyOwner(digest: key.digest, user: name, line: item.line))
                keys.append(key)
            }
        } else {
            ok = false
        }

        var group: String?
        if let groupNode = m["group"], let text = groupNode.nonEmptyString(expected: "a group name") {
            if declaredGroups.contains(text) {
                group = text
            } else {
                let hint = NameSuggester.hint(for: text, among: declaredGroups)
                groupNode.error("unknown group '\(ConfigNode.clip(text))'\(hint.isEmpty && declaredGroups.isEmpty ? " (no groups are defined)" : hint)")
                ok = false
            }
        }

        var models = ["*"]
        if let list = m["models"]?.list(expected: "a list of model names, or [\"*\"] for all") {
            models = []
            for item in list {
                guard let model = item.nonEmptyString(expected: "a model name or *") else {
                    ok = false
                    continue
                }
                if model != "*" && !declaredModels.contains(model) {
                    item.error("unknown model '\(ConfigNode.clip(model))'\(NameSuggester.hint(for: model, among: declaredModels))")
                    ok = false
                    continue
                }
                models.append(model)
            }
        } else if m.contains("models") && m["models"] != nil {
            ok = false
        }

        let limits = GeneralSectionParser.limits(m["limits"])
        guard ok else { return nil }
        return UserConfig(name: name, keys: keys, group: group, models: models, limits: limits, line: nameLine)
    }
}
