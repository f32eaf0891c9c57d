// SPDX-License-Identifier: Apache-2.0
// One node of a composed YAML document, as the loader reads it: the three YAML kinds, each
// with the line it starts on (libyaml's start mark, 1-based) and the tag written on it.
// Aliases never reach a tree: the composer rejects them (see YAMLComposer).

enum YAMLNode {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence(List)

    struct Scalar {
        enum Style {
            case plain, singleQuoted, doubleQuoted, literal, folded
        }

        var string: String
        var style: Style
        /// As written (`!custom`, `tag:yaml.org,2002:str` for `!!str`); empty when none was.
        var tag: String
        var line: Int
    }

    /// Pairs in file order, repeated keys included: MappingReader reports each repeat at
    /// its own line.
    struct Mapping: Sequence {
        typealias Pair = (key: YAMLNode, value: YAMLNode)

        var pairs: [Pair]
        var tag: String
        var line: Int

        var count: Int { pairs.count }

        func makeIterator() -> IndexingIterator<[Pair]> { pairs.makeIterator() }

        /// The value of the text key `key`; when it is repeated, its last occurrence (the one
        /// MappingReader keeps).
        subscript(key: String) -> YAMLNode? {
            pairs.last { pair in
                if case .scalar(let scalar) = pair.key { return scalar.string == key }
                return false
            }?.value
        }

        /// The pairs in file order, a repeated text key only at its last occurrence.
        var lastOfEachKey: [Pair] {
            var seen = Set<String>()
            var kept: [Pair] = []
            for pair in pairs.reversed() {
                if case .scalar(let scalar) = pair.key, !seen.insert(scalar.string).inserted { continue }
                kept.append(pair)
            }
            return kept.reversed()
        }
    }

    struct List: Sequence {
        var items: [YAMLNode]
        var tag: String
        var line: Int

        var count: Int { items.count }

        func makeIterator() -> IndexingIterator<[YAMLNode]> { items.makeIterator() }
    }

    /// 1-based line where the node starts.
    var line: Int {
        switch self {
        case .scalar(let scalar): return scalar.line
        case .mapping(let mapping): return mapping.line
        case .sequence(let list): return list.line
        }
    }

    /// The tag written on the node; empty when none was.
    var tag: String {
        switch self {
        case .scalar(let scalar): return scalar.tag
        case .mapping(let mapping): return mapping.tag
        case .sequence(let list): return list.tag
        }
    }
}
