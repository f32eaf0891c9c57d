// SPDX-License-Identifier: Apache-2.0
// Finds what routing needs in a JSON request body — the top-level "model" and "stream"
// members and whether "stream_options" is present — as bytes arrive, without building any
// object tree (a 100 MB embeddings input is never decoded). It also records where the model
// value, the `stream_options` value and the final closing brace sit, so the body can be
// rewritten while it streams (StreamOptionsLocator follows only the `stream_options` bytes).
//
// What the gateway authorises and prices must be what the backend runs (SPEC §3), and every
// backend parses the body with an ordinary JSON parser where the last duplicate key wins and
// `\u` escapes in names are decoded. So the scanner is a full RFC 8259 recogniser, not a
// heuristic: it checks the grammar at every depth (an explicit bit stack, never recursion),
// the number syntax, the escapes, UTF-8 (RFC 8259 §8.1) and unpaired surrogates (RFC 7493 §2.1),
// and it refuses with `invalidRequest` what some parser would read differently from the scanner:
// - an escape in a top-level member name (`m\u006fdel` is "model" to a parser, SPEC §3);
// - a second top-level "model" or "stream" (parsers keep the last one, simdjson the first);
// - a top-level name that is "model", "stream" or "stream_options" only case-insensitively
//   ("Model", "ſtream"): Go's encoding/json, which Ollama and LocalAI use, fills a struct field
//   from a case-insensitive match with Unicode simple folding, so that is a duplicate there;
// - a top-level name or model that contains U+FEFF: Foundation drops a raw U+FEFF at the start
//   of a string or after an escape, so "\u{FEFF}model" is "model" to a Swift backend;
// - a "model" that is not a string, or longer than `maxModelBytes`, and a "stream" that is not a
//   boolean (pydantic coerces "yes" and 1 to true, and an unseen stream is not metered).
//
// It is a byte-at-a-time state machine, so a body split anywhere gives the same verdict at the
// same offset; runs that need no state change (string text, digits, whitespace) and names or
// models that lie whole in one chunk are taken at once, with the verdict the bytes would give. It allocates nothing per byte: only the model's bytes (at most `maxModelBytes`)
// and the `model` string itself.

package struct JSONRequestScanner {
    package init() {}

    /// Why a body is refused. SPEC §3: `notAnObject` and `malformed` are 400 `invalid_json`;
    /// `invalidRequest` is 400 `invalid_request` (valid JSON the gateway will not route,
    /// because another parser could read a different model or stream from it).
    package enum Rejection: Error, Equatable {
        case notAnObject
        case malformed(String)
        case invalidRequest(String)
    }

    /// Nesting limit, counting the top-level object: the same as Foundation's JSONSerialization.
    package static let maxDepth = 512
    /// A longer model name is refused rather than cut (a cut name could name another model).
    package static let maxModelBytes = 512

    /// Bytes scanned so far (absolute offset of the next byte).
    package private(set) var offset = 0
    package private(set) var model: String?
    /// Absolute byte range of the model value including its quotes.
    package private(set) var modelRange: Range<Int>?
    /// `true`/`false`; `null` reads as `false` (the OpenAI default).
    package private(set) var stream: Bool?
    package private(set) var hasStreamOptions = false
    /// Absolute offset of the first byte of the top-level `stream_options` value, once scanned.
    package private(set) var streamOptionsStart: Int?
    /// Absolute offset just past that value, once it has ended. A number ends only at the byte
    /// after it, so this is set when that byte is scanned (it is not part of the value).
    package private(set) var streamOptionsEnd: Int?
    /// Whether the top-level object has a member (a name has been read at depth 1).
    package private(set) var hasMembers = false
    /// Absolute offset of the `}` that closes the top-level object, once seen.
    package private(set) var closingBraceOffset: Int?
    package private(set) var rejection: Rejection?

    var isComplete: Bool { closingBraceOffset != nil }

    private enum State: UInt8 {
        case start                  // before the top-level `{`
        case nameOrEnd, name        // after `{`; after `,` in an object
        case colon                  // after a member name
        case valueOrEnd, value      // after `[`; after `:` or `,` in an array
        case afterValue             // `,` or the container's closing bracket
        case string, escape, hex    // in a string; after `\`; in `\uXXXX`
        case lowBackslash, lowU     // after a high surrogate escape: `\u` must follow
        case minus, zero, integer, dot, fraction, exponentMark, exponentSign, exponent
        case literal                // in true / false / null
        case done                   // after the top-level `}`: whitespace only
    }

    /// What the string being read is for. Only the first two are looked at byte by byte.
    private enum StringRole: UInt8 { case topLevelName, model, other }

    /// The top-level members the scanner reads.
    private enum Member: UInt8 { case model = 1, stream = 2, streamOptions = 4, other = 0 }

    private var state = State.start
    private var depth = 0
    /// One bit per open container, indexed by depth - 1 (1 = object), so `]` against `{` and
    /// a `:` in an array are caught at any depth without an allocation or recursion.
    private var containers: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    private var stringIsName = false
    private var stringRole = StringRole.other
    private var stringStart = 0
    /// The top-level name read so far, as is and case-folded, packed (compared once it ends).
    private var exactName = PackedName()
    private var foldedName = PackedName()
    private var foldPending = false
    /// How many bytes of U+FEFF (EF BB BF) the name or model read so far ends with.
    private var bomMatch = 0
    /// The top-level member whose value comes next, and which of model/stream were named.
    private var member = Member.other
    private var named: UInt8 = 0
    private var modelBytes: [UInt8] = []

    /// UTF-8 continuation bytes still due, and the range the next one must fall in
    /// (Unicode 15 Table 3-7: no overlongs, no surrogates, nothing above U+10FFFF).
    private var utf8Pending: UInt8 = 0
    private var utf8Low: UInt8 = 0x80
    private var utf8High: UInt8 = 0xBF
    private var hexCount = 0
    private var hexValue: UInt32 = 0
    private var highSurrogate: UInt32 = 0

    private var literalKind: UInt8 = 0  // 0 true, 1 false, 2 null
    private var literalIndex = 0
    private var literalIsStream = false

    /// Scans the next bytes of the body.
    package mutating func scan(_ bytes: UnsafeRawBufferPointer) {
        guard rejection == nil, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var i = 0
        let count = bytes.count
        while i < count {
            switch state {
            case .string where utf8Pending == 0:
                if stringRole == .other {
                    // Inside a string nobody needs (message text, nested names): skip to the
                    // next byte that matters without running the state machine on each one,
                    // validating UTF-8 sequences that lie whole in this chunk.
                    var j = Self.plainRunEnd(base, from: i, count: count)
                    while j < count && base[j] >= 0x80, let n = Self.wholeUTF8Sequence(base + j, count - j) {
                        j = Self.plainRunEnd(base, from: j + n, count: count)
                    }
                    offset += j - i
                    i = j
                    if i == count { return }
                } else if offset == stringStart + 1 {
                    // A top-level name or the model, from its first byte: when it is plain
                    // ASCII and ends in this chunk it is taken as one slice. Anything else (an
                    // escape, non-ASCII, a cut) goes byte by byte, which gives the same verdict.
                    let end = Self.plainRunEnd(base, from: i, count: count)
                    if end < count && base[end] == UInt8(ascii: "\""),
                       takeWhole(UnsafeBufferPointer(start: base + i, count: end - i)) {
                        offset += end + 1 - i
                        i = end + 1
                        if rejection != nil { return }
                        continue
                    }
                }
            case .integer, .fraction, .exponent:
                // Token ids and vectors: runs of digits.
                var j = i
                while j < count && base[j] &- UInt8(ascii: "0") < 10 { j += 1 }
                offset += j - i
                i = j
                if i == count { return }
            case .start, .nameOrEnd, .name, .colon, .valueOrEnd, .value, .afterValue, .done:
                // Whitespace between tokens (pretty-printed bodies) needs no state change.
                var j = i
                while j < count && Self.isSpace(base[j]) { j += 1 }
                offset += j - i
                i = j
                if i == count { return }
            default:
                break
            }
            step(base[i])
            offset += 1
            i += 1
            if rejection != nil { return }
        }
    }

    /// The index of the first byte at or after `i` that is not printable ASCII other than `"`
    /// and `\` (a byte a string's state machine must look at), or `count`.
    private static func plainRunEnd(_ base: UnsafePointer<UInt8>, from i: Int, count: Int) -> Int {
        var j = i
        // Eight bytes at a time while none of them is `"`, `\`, a control or non-ASCII (the
        // bit tricks of Hacker's Delight §6-1, "find the first 0-byte").
        let ones: UInt64 = 0x0101_0101_0101_0101
        while count - j >= 8 {
            let w = UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self)
            let quote = w ^ 0x2222_2222_2222_2222
            let backslash = w ^ 0x5C5C_5C5C_5C5C_5C5C
            let special = (quote &- ones) & ~quote | (backslash &- ones) & ~backslash
                | (w &- 0x2020_2020_2020_2020) & ~w | w
            if special & 0x8080_8080_8080_8080 != 0 { break }
            j += 8
        }
        while j < count {
            let b = base[j]
            guard b >= 0x20 && b < 0x80 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") else { break }
            j += 1
        }
        return j
    }

    /// A whole top-level name or model value of printable ASCII without escapes (`text`, its
    /// closing quote next), taken at once with the verdict the byte-by-byte path would give.
    /// False (nothing changed) when only that path can give it (a model longer than
    /// `maxModelBytes` is refused at the byte that makes it too long).
    private mutating func takeWhole(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        if stringRole == .model {
            guard text.count <= Self.maxModelBytes else { return false }
            model = String(decoding: text, as: UTF8.self)
            modelRange = stringStart..<(offset + text.count + 1)
            state = .afterValue
            // `member` is .model: the value that ends is not `stream_options`'.
        } else {
            state = .colon
            hasMembers = true
            // ASCII only: no U+FEFF and no ſ, so folding is ASCII case.
            nameEnded(exact: Self.member(named: text, foldingCase: false), folded: Self.member(named: text, foldingCase: true))
        }
        stringRole = .other
        return true
    }

    /// The member `text` names, comparing ASCII letters case-insensitively when `foldingCase`.
    private static func member(named text: UnsafeBufferPointer<UInt8>, foldingCase: Bool) -> Member {
        func equals(_ name: StaticString) -> Bool {
            guard text.count == name.utf8CodeUnitCount else { return false }
            for k in 0..<text.count {
                var b = text[k]
                if foldingCase && b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") { b |= 0x20 }
                if b != name.utf8Start[k] { return false }
            }
            return true
        }
        switch text.count {
        case 5: return equals("model") ? .model : .other
        case 6: return equals("stream") ? .stream : .other
        case 14: return equals("stream_options") ? .streamOptions : .other
        default: return .other
        }
    }

    /// Called at the end of the body.
    package mutating func finish() {
        guard rejection == nil else { return }
        switch state {
        case .start: rejection = .notAnObject
        case .done: break
        default: rejection = .malformed("unexpected end of JSON body")
        }
    }

    // MARK: - The state machine

    private mutating func step(_ b: UInt8) {
        if state.rawValue >= State.minus.rawValue && state.rawValue <= State.exponent.rawValue {
            if numberByte(b) { return }
            // The number ended at the byte before; this byte belongs to what follows it.
            state = .afterValue
            if depth == 1 { endTopLevelValue(at: offset) }
        }
        switch state {
        case .start:
            if Self.isSpace(b) { return }
            guard b == UInt8(ascii: "{") else { rejection = .notAnObject; return }
            open(object: true)
        case .nameOrEnd, .name:
            if Self.isSpace(b) { return }
            if b == UInt8(ascii: "\"") {
                beginString(name: true, role: depth == 1 ? .topLevelName : .other)
            } else if b == UInt8(ascii: "}") && state == .nameOrEnd {
                close()
            } else {
                rejection = .malformed("expected a member name")
            }
        case .colon:
            if Self.isSpace(b) { return }
            guard b == UInt8(ascii: ":") else { rejection = .malformed("expected ':' after a member name"); return }
            state = .value
        case .valueOrEnd, .value:
            if Self.isSpace(b) { return }
            if b == UInt8(ascii: "]") && state == .valueOrEnd { close() } else { beginValue(b) }
        case .afterValue:
            if Self.isSpace(b) { return }
            let inObject = isObject(depth)
            switch b {
            case UInt8(ascii: ","): state = inObject ? .name : .value
            case UInt8(ascii: "}") where inObject, UInt8(ascii: "]") where !inObject: close()
            case UInt8(ascii: "}"), UInt8(ascii: "]"): rejection = .malformed("mismatched brackets")
            default: rejection = .malformed("expected ',' or a closing bracket")
            }
        case .string:
            stringByte(b)
        case .escape:
            escapeByte(b)
        case .hex:
            guard let digit = Self.hexDigit(b) else { rejection = .malformed("invalid \\u escape in a JSON string"); return }
            hexValue = hexValue << 4 | digit
            hexCount += 1
            if hexCount == 4 { endHexEscape() }
        case .lowBackslash:
            guard b == UInt8(ascii: "\\") else { rejection = .malformed("unpaired UTF-16 surrogate in a JSON string"); return }
            state = .lowU
        case .lowU:
            guard b == UInt8(ascii: "u") else { rejection = .malformed("unpaired UTF-16 surrogate in a JSON string"); return }
            state = .hex
            hexCount = 0
            hexValue = 0
        case .minus, .zero, .integer, .dot, .fraction, .exponentMark, .exponentSign, .exponent:
            break  // handled above
        case .literal:
            literalByte(b)
        case .done:
            if !Self.isSpace(b) { rejection = .malformed("trailing data after the JSON object") }
        }
    }

    private mutating func beginValue(_ b: UInt8) {
        let role: Member = depth == 1 ? member : .other
        var isString = false
        var isLiteral = false
        switch b {
        case UInt8(ascii: "\""): isString = true
        case UInt8(ascii: "{"), UInt8(ascii: "["): break
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): break
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"): isLiteral = true
        default:
            rejection = .malformed("expected a JSON value")
            return
        }
        if role == .model && !isString {
            rejection = .invalidRequest("\"model\" must be a string")
            return
        }
        if role == .stream && !isLiteral {
            rejection = .invalidRequest("\"stream\" must be a boolean")
            return
        }
        if role == .streamOptions { streamOptionsStart = offset }
        switch b {
        case UInt8(ascii: "\""): beginString(name: false, role: role == .model ? .model : .other)
        case UInt8(ascii: "{"): open(object: true)
        case UInt8(ascii: "["): open(object: false)
        case UInt8(ascii: "-"): state = .minus
        case UInt8(ascii: "0"): state = .zero
        case UInt8(ascii: "1")...UInt8(ascii: "9"): state = .integer
        default:
            state = .literal
            literalKind = b == UInt8(ascii: "t") ? 0 : b == UInt8(ascii: "f") ? 1 : 2
            literalIndex = 1
            literalIsStream = role == .stream
        }
    }

    private mutating func open(object: Bool) {
        guard depth < Self.maxDepth else { rejection = .malformed("JSON nested too deeply"); return }
        depth += 1
        setObject(depth, object)
        state = object ? .nameOrEnd : .valueOrEnd
    }

    private mutating func close() {
        depth -= 1
        if depth == 0 {
            closingBraceOffset = offset
            state = .done
        } else {
            state = .afterValue
            if depth == 1 { endTopLevelValue(at: offset + 1) }
        }
    }

    /// A value of a top-level member ended just before `end`.
    private mutating func endTopLevelValue(at end: Int) {
        // `member` stays the last top-level name until the next one, and a duplicate
        // `stream_options` is refused, so this is its value and it ends once.
        if member == .streamOptions { streamOptionsEnd = end }
    }

    // MARK: Strings

    private mutating func beginString(name: Bool, role: StringRole) {
        state = .string
        stringIsName = name
        stringRole = role
        stringStart = offset
        bomMatch = 0
        if role == .topLevelName {
            exactName = PackedName()
            foldedName = PackedName()
            foldPending = false
        } else if role == .model {
            modelBytes.removeAll(keepingCapacity: true)
        }
    }

    private mutating func stringByte(_ b: UInt8) {
        if utf8Pending > 0 {
            guard b >= utf8Low && b <= utf8High else { rejection = .malformed("invalid UTF-8 in a JSON string"); return }
            utf8Pending -= 1
            utf8Low = 0x80
            utf8High = 0xBF
            record(b)
            return
        }
        switch b {
        case UInt8(ascii: "\""):
            endString()
        case UInt8(ascii: "\\"):
            if stringRole == .topLevelName {
                // Another parser decodes `m\u006fdel` to `model`; this one will not guess.
                rejection = .invalidRequest("a top-level member name contains an escape")
                return
            }
            state = .escape
        case 0..<0x20:
            rejection = .malformed("control character in a JSON string")
        case 0x20..<0x80:
            record(b)
        default:
            switch b {
            case 0xC2...0xDF: (utf8Pending, utf8Low, utf8High) = (1, 0x80, 0xBF)
            case 0xE0: (utf8Pending, utf8Low, utf8High) = (2, 0xA0, 0xBF)
            case 0xED: (utf8Pending, utf8Low, utf8High) = (2, 0x80, 0x9F)
            case 0xE1...0xEF: (utf8Pending, utf8Low, utf8High) = (2, 0x80, 0xBF)
            case 0xF0: (utf8Pending, utf8Low, utf8High) = (3, 0x90, 0xBF)
            case 0xF1...0xF3: (utf8Pending, utf8Low, utf8High) = (3, 0x80, 0xBF)
            case 0xF4: (utf8Pending, utf8Low, utf8High) = (3, 0x80, 0x8F)
            default:
                rejection = .malformed("invalid UTF-8 in a JSON string")
                return
            }
            record(b)
        }
    }

    /// A byte of the decoded string (raw, or from an escape).
    private mutating func record(_ b: UInt8) {
        switch stringRole {
        case .topLevelName:
            exactName.append(b)
            // Go's folding (encoding/json equalFoldRight): ASCII case, and U+017F ſ (C5 BF) is
            // an s. U+212A K folds to k, which none of the names has.
            if foldPending {
                foldPending = false
                foldedName.append(b == 0xBF ? UInt8(ascii: "s") : 0xFF)
            } else if b == 0xC5 {
                foldPending = true
            } else {
                foldedName.append(b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b)
            }
            if completesBOM(b) { rejection = .invalidRequest("a top-level member name contains U+FEFF") }
        case .model:
            guard modelBytes.count < Self.maxModelBytes else {
                rejection = .invalidRequest("\"model\" is longer than \(Self.maxModelBytes) bytes")
                return
            }
            if modelBytes.capacity == 0 { modelBytes.reserveCapacity(64) }
            modelBytes.append(b)
            if completesBOM(b) { rejection = .invalidRequest("\"model\" contains U+FEFF") }
        case .other:
            break
        }
    }

    /// Whether `b` completes a U+FEFF (the bytes are well-formed UTF-8, so EF BB BF is one).
    private mutating func completesBOM(_ b: UInt8) -> Bool {
        if b == 0xEF {
            bomMatch = 1
        } else if (bomMatch == 1 && b == 0xBB) || (bomMatch == 2 && b == 0xBF) {
            bomMatch += 1
        } else {
            bomMatch = 0
        }
        return bomMatch == 3
    }

    private mutating func endString() {
        if stringIsName {
            state = .colon
            guard stringRole == .topLevelName else { return }
            hasMembers = true
            nameEnded(exact: Self.member(named: exactName), folded: Self.member(named: foldedName))
            if rejection != nil { return }
        } else {
            state = .afterValue
            if depth == 1 { endTopLevelValue(at: offset + 1) }
            if stringRole == .model {
                model = String(decoding: modelBytes, as: UTF8.self)
                modelRange = stringStart..<(offset + 1)
            }
        }
        stringRole = .other
    }

    /// A top-level member name ended: `exact` is the member it names, `folded` the one it
    /// names case-folded (Go's matching).
    private mutating func nameEnded(exact: Member, folded: Member) {
        member = exact
        if member == .other {
            switch folded {
            case .model: rejection = .invalidRequest("a top-level member name differs from \"model\" only in case")
            case .stream: rejection = .invalidRequest("a top-level member name differs from \"stream\" only in case")
            case .streamOptions: rejection = .invalidRequest("a top-level member name differs from \"stream_options\" only in case")
            case .other: break
            }
            return
        }
        // Parsers keep the last duplicate; the gateway would have routed (or rewritten
        // `include_usage` in) the first. A repeated `stream_options` would also make the
        // rewrite's edit list grow with the body, outside `server.max_buffered`.
        guard named & member.rawValue == 0 else {
            switch member {
            case .model: rejection = .invalidRequest("duplicate top-level \"model\"")
            case .stream: rejection = .invalidRequest("duplicate top-level \"stream\"")
            default: rejection = .invalidRequest("duplicate top-level \"stream_options\"")
            }
            return
        }
        named |= member.rawValue
        if member == .streamOptions { hasStreamOptions = true }
    }

    private mutating func escapeByte(_ b: UInt8) {
        let decoded: UInt8
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded = b
        case UInt8(ascii: "b"): decoded = 0x08
        case UInt8(ascii: "f"): decoded = 0x0C
        case UInt8(ascii: "n"): decoded = 0x0A
        case UInt8(ascii: "r"): decoded = 0x0D
        case UInt8(ascii: "t"): decoded = 0x09
        case UInt8(ascii: "u"):
            state = .hex
            hexCount = 0
            hexValue = 0
            return
        default:
            rejection = .malformed("invalid escape in a JSON string")
            return
        }
        state = .string
        record(decoded)
    }

    private mutating func endHexEscape() {
        let unit = hexValue
        var scalar = unit
        if highSurrogate != 0 {
            guard unit >= 0xDC00 && unit <= 0xDFFF else {
                rejection = .malformed("unpaired UTF-16 surrogate in a JSON string")
                return
            }
            scalar = 0x10000 + ((highSurrogate - 0xD800) << 10) + (unit - 0xDC00)
            highSurrogate = 0
        } else if unit >= 0xD800 && unit <= 0xDBFF {
            highSurrogate = unit
            state = .lowBackslash
            return
        } else if unit >= 0xDC00 && unit <= 0xDFFF {
            rejection = .malformed("unpaired UTF-16 surrogate in a JSON string")
            return
        }
        state = .string
        guard stringRole == .model else { return }
        // UTF-8 encoding of the scalar (RFC 3629 §3).
        if scalar < 0x80 {
            record(UInt8(scalar))
        } else if scalar < 0x800 {
            record(UInt8(0xC0 | scalar >> 6))
            record(UInt8(0x80 | scalar & 0x3F))
        } else if scalar < 0x10000 {
            record(UInt8(0xE0 | scalar >> 12))
            record(UInt8(0x80 | scalar >> 6 & 0x3F))
            record(UInt8(0x80 | scalar & 0x3F))
        } else {
            record(UInt8(0xF0 | scalar >> 18))
            record(UInt8(0x80 | scalar >> 12 & 0x3F))
            record(UInt8(0x80 | scalar >> 6 & 0x3F))
            record(UInt8(0x80 | scalar & 0x3F))
        }
    }

    // MARK: Numbers and literals

    /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. Returns false when
    /// the number ended before `b` (only possible where a number may end).
    private mutating func numberByte(_ b: UInt8) -> Bool {
        let isDigit = b &- UInt8(ascii: "0") < 10
        switch state {
        case .minus:
            if isDigit { state = b == UInt8(ascii: "0") ? .zero : .integer } else { rejection = .malformed("invalid number") }
        case .zero, .integer:
            if isDigit {
                if state == .zero { rejection = .malformed("number with a leading zero") }
            } else if b == UInt8(ascii: ".") {
                state = .dot
            } else if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                state = .exponentMark
            } else {
                return false
            }
        case .dot:
            if isDigit { state = .fraction } else { rejection = .malformed("invalid number") }
        case .fraction:
            if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") { state = .exponentMark } else if !isDigit { return false }
        case .exponentMark:
            if b == UInt8(ascii: "+") || b == UInt8(ascii: "-") {
                state = .exponentSign
            } else if isDigit {
                state = .exponent
            } else {
                rejection = .malformed("invalid number")
            }
        case .exponentSign:
            if isDigit { state = .exponent } else { rejection = .malformed("invalid number") }
        default:  // .exponent
            if !isDigit { return false }
        }
        return true
    }

    private mutating func literalByte(_ b: UInt8) {
        let text: StaticString = literalKind == 0 ? "true" : literalKind == 1 ? "false" : "null"
        guard Self.byte(of: text, at: literalIndex) == b else { rejection = .malformed("invalid literal in JSON"); return }
        literalIndex += 1
        guard literalIndex == text.utf8CodeUnitCount else { return }
        state = .afterValue
        if depth == 1 { endTopLevelValue(at: offset + 1) }
        if literalIsStream { stream = literalKind == 0 }
    }

    // MARK: Helpers

    /// The first 16 bytes of a name and its length (capped at 17: the names that matter are
    /// shorter), packed so that comparing it with a name is two word compares.
    private struct PackedName: Equatable {
        private var low: UInt64 = 0
        private var high: UInt64 = 0
        private var count = 0

        init() {}

        init(low: UInt64, high: UInt64, count: Int) {
            self.low = low
            self.high = high
            self.count = count
        }

        mutating func append(_ b: UInt8) {
            guard count < 16 else {
                count = 17
                return
            }
            if count < 8 {
                low |= UInt64(b) &<< UInt64(count &* 8)
            } else {
                high |= UInt64(b) &<< UInt64((count &- 8) &* 8)
            }
            count &+= 1
        }
    }

    /// The member a name read byte by byte names. The names as packed literals (little-endian
    /// bytes), not `static let`s: a global would cost a `swift_once` check on every name.
    private static func member(named name: PackedName) -> Member {
        switch name {
        case PackedName(low: 0x6C_6564_6F6D, high: 0, count: 5): return .model                    // "model"
        case PackedName(low: 0x6D61_6572_7473, high: 0, count: 6): return .stream                 // "stream"
        case PackedName(low: 0x6F5F_6D61_6572_7473, high: 0x736E_6F69_7470, count: 14): return .streamOptions  // "stream_options"
        default: return .other
        }
    }

    // In place (`inout`): a non-mutating read would copy the whole scanner first. depth ≤
    // maxDepth (512), so the word index is 0…7, inside the tuple.
    private mutating func isObject(_ level: Int) -> Bool {
        let index = level - 1
        let word = withUnsafeBytes(of: &containers) { $0.load(fromByteOffset: (index >> 6) &* 8, as: UInt64.self) }
        return (word >> UInt64(index & 63)) & 1 == 1
    }

    private mutating func setObject(_ level: Int, _ object: Bool) {
        let index = level - 1
        let bit: UInt64 = 1 << UInt64(index & 63)
        withUnsafeMutableBytes(of: &containers) { words in
            let at = (index >> 6) &* 8
            let word = words.load(fromByteOffset: at, as: UInt64.self)
            words.storeBytes(of: object ? word | bit : word & ~bit, toByteOffset: at, as: UInt64.self)
        }
    }

    private static func byte(of text: StaticString, at index: Int) -> UInt8? {
        index < text.utf8CodeUnitCount ? text.utf8Start[index] : nil
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    private static func hexDigit(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(b - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// The length of the well-formed UTF-8 sequence at `p` if it lies whole within `available`
    /// bytes; nil if it is ill-formed or cut (the state machine then takes it byte by byte).
    private static func wholeUTF8Sequence(_ p: UnsafePointer<UInt8>, _ available: Int) -> Int? {
        let lead = p[0]
        let n: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; low = 0xA0
        case 0xED: n = 3; high = 0x9F
        case 0xE1...0xEF: n = 3
        case 0xF0: n = 4; low = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; high = 0x8F
        default: return nil
        }
        guard n <= available, p[1] >= low, p[1] <= high else { return nil }
        for k in 2..<n where p[k] < 0x80 || p[k] > 0xBF { return nil }
        return n
    }
}
