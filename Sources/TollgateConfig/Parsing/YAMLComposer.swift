// SPDX-License-Identifier: Apache-2.0
// Text → YAMLNode tree, from libyaml's event stream (yaml_parser_parse): each event's start
// mark gives the node its line. Composing here rather than in a library keeps three things
// in our hands:
//  - Repeated keys stay in the tree, each at its own line, so MappingReader reports every
//    one at once (a composer that stops at the first repeat reports one per run).
//  - Aliases (*name) are rejected at the alias's own line and never expanded: an error
//    inside an expanded copy would point at the anchor, and nested aliases grow
//    exponentially ("billion laughs"). Anchors never referenced are harmless.
//  - The walk is a loop over an explicit stack, so deep nesting cannot overflow the thread's
//    stack; past `maximumDepth` it is refused at the line where it happens.
// libyaml itself is a YAML 1.1 parser: merge keys (`<<`) are ordinary keys to it, and so to
// the loader (they would need an alias anyway). https://pyyaml.org/wiki/LibYAML
import CYAML

enum YAMLComposer {
    /// Nodes nested deeper than this are refused. The same depth as the limit Yams' bundled
    /// libyaml set (yaml_set_max_nest_level, 1000); a config needs fewer than ten.
    static let maximumDepth = 1000

    /// The root node of the single document in `text`, or nil after reporting why there is
    /// none. A byte-order mark is skipped by libyaml without counting a line.
    static func compose(_ text: String, context: ConfigContext) -> YAMLNode? {
        var text = text
        return text.withUTF8 { bytes in
            guard let base = bytes.baseAddress, !bytes.isEmpty else {
                context.error(0, "", emptyFile)
                return nil
            }
            var composition = Composition(context: context, bytes: bytes)
            return composition.run(base)
        }
    }

    static let emptyFile = "the file is empty; a config needs at least backends, models and users"

    /// The 1-based line of byte `offset` in UTF-8 `bytes`, counting line breaks as libyaml
    /// does: CR LF, CR, LF, NEL (U+0085), LS (U+2028) and PS (U+2029) each end a line.
    static func lineNumber(atOffset offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let end = min(max(offset, 0), bytes.count)
        var line = 1
        var i = 0
        while i < end {
            switch bytes[i] {
            case 0x0D:
                if i + 1 < end, bytes[i + 1] == 0x0A { i += 1 }
                line += 1
            case 0x0A:
                line += 1
            case 0xC2 where i + 1 < end && bytes[i + 1] == 0x85:
                i += 1
                line += 1
            case 0xE2 where i + 2 < end && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                i += 2
                line += 1
            default:
                break
            }
            i += 1
        }
        return line
    }
}

/// One run over the event stream: the containers still open, the anchors seen so far and
/// the aliases found (reported only if nothing worse stops the run first).
private struct Composition {
    /// A mapping or sequence whose end event has not come yet. A mapping's children
    /// alternate key, value.
    struct Open {
        var isMapping: Bool
        var children: [YAMLNode] = []
        var tag: String
        var line: Int
        var anchor: String?

        func close() -> YAMLNode {
            guard isMapping else { return .sequence(YAMLNode.List(items: children, tag: tag, line: line)) }
            var pairs: [YAMLNode.Mapping.Pair] = []
            pairs.reserveCapacity(children.count / 2)
            for i in stride(from: 0, to: children.count - 1, by: 2) {
                pairs.append((key: children[i], value: children[i + 1]))
            }
            return .mapping(YAMLNode.Mapping(pairs: pairs, tag: tag, line: line))
        }
    }

    let context: ConfigContext
    let bytes: UnsafeBufferPointer<UInt8>
    var open: [Open] = []
    var root: YAMLNode?
    var documents = 0
    /// Anchor name → line of the node it names; a node's anchor is defined once the node is
    /// complete (an alias inside its own anchor's node would be a cycle).
    var anchors: [String: Int] = [:]
    var aliases: [(line: Int, anchorLine: Int)] = []

    init(context: ConfigContext, bytes: UnsafeBufferPointer<UInt8>) {
        self.context = context
        self.bytes = bytes
    }

    mutating func run(_ input: UnsafePointer<UInt8>) -> YAMLNode? {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else {
            context.error(0, "", "cannot parse YAML: out of memory")
            return nil
        }
        defer { yaml_parser_delete(parser) }
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, input, bytes.count)

        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer { event.deallocate() }
        while true {
            guard yaml_parser_parse(parser, event) == 1 else {
                reportParserError(parser.pointee)
                return nil
            }
            defer { yaml_event_delete(event) }
            switch step(event.pointee) {
            case .more: continue
            case .failed: return nil
            case .done: return finish()
            }
        }
    }

    enum Step { case more, done, failed }

    private mutating func step(_ event: yaml_event_t) -> Step {
        let line = Int(event.start_mark.line) + 1
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return .done
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            guard documents == 1 else {
                let at = line == 1 ? "" : " at line 1"
                context.error(line, "", "YAML syntax error: but found another document (expected a single document in the stream\(at))")
                return .failed
            }
        case YAML_ALIAS_EVENT:
            let name = string(event.data.alias.anchor) ?? ""
            guard let anchorLine = anchors[name] else {
                context.error(line, "", "YAML syntax error: found undefined alias")
                return .failed
            }
            aliases.append((line, anchorLine))
            // A stand-in keeps the mapping's key/value pairing; the tree is not used.
            add(.scalar(YAMLNode.Scalar(string: "", style: .plain, tag: "", line: line)))
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let value = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            if let anchor = string(scalar.anchor) { anchors[anchor] = line }
            add(.scalar(YAMLNode.Scalar(string: value, style: style(scalar.style), tag: string(scalar.tag) ?? "",
                                        line: line)))
        case YAML_SEQUENCE_START_EVENT:
            let start = event.data.sequence_start
            return push(Open(isMapping: false, tag: string(start.tag) ?? "", line: line, anchor: string(start.anchor)))
        case YAML_MAPPING_START_EVENT:
            let start = event.data.mapping_start
            return push(Open(isMapping: true, tag: string(start.tag) ?? "", line: line, anchor: string(start.anchor)))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let closed = open.popLast() else { return .more }
            if let anchor = closed.anchor { anchors[anchor] = closed.line }
            add(closed.close())
        default:
            // Stream start, document end: nothing to build.
            break
        }
        return .more
    }

    private mutating func push(_ container: Open) -> Step {
        guard open.count < YAMLComposer.maximumDepth else {
            context.error(container.line, "", "YAML nesting is deeper than \(YAMLComposer.maximumDepth) levels")
            return .failed
        }
        open.append(container)
        return .more
    }

    private mutating func add(_ node: YAMLNode) {
        if open.isEmpty {
            root = node
        } else {
            open[open.count - 1].children.append(node)
        }
    }

    private func finish() -> YAMLNode? {
        guard documents > 0, let root else {
            context.error(0, "", YAMLComposer.emptyFile)
            return nil
        }
        guard aliases.isEmpty else {
            for alias in aliases {
                context.error(alias.line, "", "aliases (*name) are not supported: write the value out (its anchor is at line \(alias.anchorLine))")
            }
            return nil
        }
        return root
    }

    private func reportParserError(_ parser: yaml_parser_t) {
        let problem = string(parser.problem) ?? "unknown problem"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            context.error(0, "", "cannot parse YAML: out of memory")
        case YAML_READER_ERROR:
            // Characters YAML forbids (C0 controls but tab and line breaks, DEL, C1 controls,
            // U+FFFE/FFFF): libyaml gives the byte offset, not a line.
            let line = YAMLComposer.lineNumber(atOffset: Int(parser.problem_offset), in: bytes)
            context.error(line, "", "cannot read YAML: \(problem)")
        default:
            let line = Int(parser.problem_mark.line) + 1
            var message = "YAML syntax error: \(problem)"
            if let during = string(parser.context) {
                let contextLine = Int(parser.context_mark.line) + 1
                message += " (\(during)\(contextLine == line ? "" : " at line \(contextLine)"))"
            }
            context.error(line, "", message)
        }
    }

    private func style(_ style: yaml_scalar_style_t) -> YAMLNode.Scalar.Style {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: return .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: return .literal
        case YAML_FOLDED_SCALAR_STYLE: return .folded
        default: return .plain
        }
    }

    private func string(_ pointer: UnsafeMutablePointer<UInt8>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
