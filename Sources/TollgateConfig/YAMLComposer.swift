// SPDX-License-Identifier: Apache-2.0
// Text → Yams node tree (which keeps each node's line), with two repairs so a file's problems
// are reported all at once:
//  - Yams stops at the first duplicate key in a mapping. The composer renames that
//    occurrence in the text to a marker and parses again; the mapping reader later reports
//    every renamed key as a duplicate at its own line.
//  - Yams resolves aliases (*name) into copies that keep the anchor's position, so an error
//    inside one would point at the wrong line, and nested aliases can blow up exponentially.
//    Aliases are rejected (the walk stops there); anchors never referenced are harmless.
import Yams

/// Duplicate keys that were renamed to `__tollgate_duplicate_<n>__<key>` for a re-parse.
struct DuplicateKeyLedger: Sendable {
    static let prefix = "__tollgate_duplicate_"
    private var renamed: [Int: Renamed] = [:]

    struct Renamed: Sendable, Equatable {
        var key: String
        var line: Int
    }

    /// The original key and line when `key` is a marker this ledger handed out.
    func original(of key: String) -> Renamed? {
        guard key.hasPrefix(Self.prefix) else { return nil }
        let rest = key.dropFirst(Self.prefix.count)
        guard let end = rest.firstRange(of: "__"), let number = Int(rest[..<end.lowerBound]) else { return nil }
        return renamed[number]
    }

    mutating func add(key: String, line: Int) -> String {
        let number = renamed.count
        renamed[number] = Renamed(key: key, line: line)
        return "\(Self.prefix)\(number)__"
    }
}

enum YAMLComposer {
    /// At most this many duplicate keys are repaired before giving up on the file.
    static let maximumRepairs = 200

    /// The root node, or nil after reporting why there is none.
    static func compose(_ original: String, context: ConfigContext) -> Node? {
        var text = original
        for _ in 0...maximumRepairs {
            do {
                guard let root = try Yams.compose(yaml: text) else {
                    context.error(0, "", "the file is empty; a config needs at least backends, models and users")
                    return nil
                }
                return rejectAliases(in: root, context: context) ? nil : root
            } catch let YamlError.duplicatedKeysInMapping(keys, yamlContext) {
                let line = yamlContext.mark.line
                guard let key = keys.first, key != "<uncovertable>",
                      let repaired = renameKey(in: text, key: key, line: line, column: yamlContext.mark.column,
                                               marker: context.duplicates.add(key: key, line: line)) else {
                    context.error(line, "", "duplicate key '\(keys.first ?? "?")'")
                    return nil
                }
                text = repaired
            } catch {
                report(error, context: context)
                return nil
            }
        }
        context.error(0, "", "too many duplicate keys")
        return nil
    }

    /// Inserts `marker` before the key that starts at (line, column), inside its quotes if
    /// quoted. nil when the text there is not that key (then the caller reports and stops).
    static func renameKey(in text: String, key: String, line: Int, column: Int, marker: String) -> String? {
        var scalars = Array(text.unicodeScalars)
        guard let offset = offset(ofLine: line, column: column, in: scalars), offset < scalars.count else { return nil }
        var insertAt = offset
        if scalars[offset] == "\"" || scalars[offset] == "'" {
            insertAt += 1
        } else {
            let keyScalars = Array(key.unicodeScalars)
            guard scalars[offset...].starts(with: keyScalars) else { return nil }
        }
        scalars.insert(contentsOf: marker.unicodeScalars, at: insertAt)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// Counts lines the way libyaml does: CR LF, CR, LF, NEL, LS and PS each end a line.
    private static func offset(ofLine line: Int, column: Int, in scalars: [Unicode.Scalar]) -> Int? {
        var currentLine = 1
        var i = 0
        while currentLine < line {
            guard i < scalars.count else { return nil }
            let c = scalars[i]
            i += 1
            switch c {
            case "\r":
                if i < scalars.count, scalars[i] == "\n" { i += 1 }
                currentLine += 1
            case "\n", "\u{85}", "\u{2028}", "\u{2029}":
                currentLine += 1
            default:
                break
            }
        }
        return i + column - 1
    }

    private static func report(_ error: any Error, context: ConfigContext) {
        guard let yamlError = error as? YamlError else {
            context.error(0, "", "cannot parse YAML: \(error)")
            return
        }
        switch yamlError {
        case let .scanner(yamlContext, problem, mark, _),
             let .parser(yamlContext, problem, mark, _),
             let .composer(yamlContext, problem, mark, _):
            var message = "YAML syntax error: \(problem)"
            if let yamlContext {
                let at = yamlContext.mark.line == mark.line ? "" : " at line \(yamlContext.mark.line)"
                message += " (\(yamlContext.text)\(at))"
            }
            context.error(mark.line, "", message)
        case let .reader(problem, _, _, _):
            context.error(0, "", "cannot read YAML: \(problem)")
        default:
            context.error(0, "", "cannot parse YAML: \(yamlError)")
        }
    }

    /// True when an alias was found (and reported). An aliased node is the anchored node
    /// itself, so it shows up as a second node with the same kind and start position.
    private static func rejectAliases(in root: Node, context: ConfigContext) -> Bool {
        struct Position: Hashable {
            var kind: Int
            var line: Int
            var column: Int
        }
        var seen = Set<Position>()
        var found = false
        func visit(_ node: Node, referencedAt line: Int) {
            guard let mark = node.mark else { return }
            let kind: Int
            switch node {
            case .scalar: kind = 0
            case .mapping: kind = 1
            case .sequence: kind = 2
            case .alias: kind = 3
            }
            guard seen.insert(Position(kind: kind, line: mark.line, column: mark.column)).inserted else {
                context.error(line, "", "aliases (*name) are not supported: write the value out (its anchor is at line \(mark.line))")
                found = true
                return
            }
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    visit(key, referencedAt: key.mark?.line ?? line)
                    visit(value, referencedAt: key.mark?.line ?? line)
                }
            case .sequence(let sequence):
                // An aliased item carries its anchor's position, so name the list's line instead.
                for item in sequence { visit(item, referencedAt: line) }
            default:
                break
            }
        }
        visit(root, referencedAt: root.mark?.line ?? 0)
        return found
    }
}
