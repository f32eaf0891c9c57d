// SPDX-License-Identifier: Apache-2.0
// A JSON document as a value, for the small replies adapters read and write (job statuses,
// prediction objects, diarization results). Not for request or stream bodies: those go through
// the streaming scanners without building a tree.
//
// Numbers are kept as their literal text (validated by RFC 8259 §6's grammar), so a 30-digit
// id or a price survives parse → serialize unchanged; `doubleValue` / `int64Value` convert on
// demand. Objects keep members in order, duplicates included (JSONObject).
//
// `parse` never traps and never recurses: containers go on an explicit stack bounded by
// `maxDepth`, so a hostile `[[[[…` costs a thrown `.tooDeep`, not the thread's stack. Values
// built by `parse` are therefore at most `maxDepth` deep; `serialized`, `==` and deinit recurse
// over a value's depth, which is the caller's business for values it builds itself.

public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number's literal text, e.g. `"-0.5e10"`; always valid per RFC 8259 §6 when parsed.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    // MARK: - Building

    /// `value` as a number.
    public init(integer value: Int64) {
        self = .number(String(value))
    }

    /// `value` as a number; nil for infinities and NaN, which JSON cannot write (RFC 8259 §6).
    public init?(double value: Double) {
        guard value.isFinite else { return nil }
        // Swift's shortest round-trip description ("1.5", "1e-07", "1e+20") is JSON's grammar.
        let text = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(describing: value)
        guard JSONValue.isNumberLiteral(text) else { return nil }
        self = .number(text)
    }

    /// Whether `text` is a number per RFC 8259 §6 (no whitespace, no `+`, no leading zeros).
    public static func isNumberLiteral(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var end = 0
        return bytes.withUnsafeBufferPointer { buffer in
            JSONParser.scanNumber(buffer, from: 0, end: &end) && end == buffer.count
        }
    }

    // MARK: - Parsing

    /// Parses `bytes` as one JSON text (RFC 8259 §2: a value with optional whitespace around it;
    /// no byte order mark). Arrays and objects nested deeper than `maxDepth` are refused.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 64) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> JSONValue in
            var parser = JSONParser(bytes: buffer, maxDepth: max(0, maxDepth))
            return try parser.parseDocument()
        }
    }

    /// Parses the UTF-8 of `text`.
    public static func parse(_ text: String, maxDepth: Int = 64) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    // MARK: - Serializing

    /// Compact JSON (no whitespace), members in order; parses back to an equal value.
    public var serialized: [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    /// `serialized` as a String.
    public var text: String {
        String(decoding: serialized, as: UTF8.self)
    }

    /// Appends the compact serialization to `out`.
    public func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let literal): out.append(contentsOf: literal.utf8)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (n, item) in items.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (n, member) in object.members.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A quoted JSON string: `"`, `\` and U+0000…U+001F escaped (RFC 8259 §7 requires exactly
    /// these); everything else, DEL and non-ASCII included, passed through as UTF-8.
    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: - Reading

    /// The member named `key` (the last one if repeated); nil when absent or not an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    /// The element at `index`; nil when out of range or not an array.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    public var stringValue: String? {
        guard case .string(let s) = self else { return nil }
        return s
    }

    /// The number as a Double; nil when not a number or out of Double's range (`1e400`).
    public var doubleValue: Double? {
        guard case .number(let literal) = self, let d = Double(literal), d.isFinite else { return nil }
        return d
    }

    /// The number as an Int64 when it is an integer that fits: exact for integer literals
    /// (and `12.000`); fraction or exponent forms (`1e3`) only below 2^53, where a Double is exact.
    public var int64Value: Int64? {
        guard case .number(let literal) = self else { return nil }
        if let n = Int64(literal) { return n }
        let parts = literal.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2, parts[1].allSatisfy({ $0 == "0" }), let n = Int64(parts[0]) { return n }
        guard let d = Double(literal), d.isFinite, d == d.rounded(), abs(d) < 9_007_199_254_740_992 else { return nil }
        return Int64(exactly: d)
    }

    public var boolValue: Bool? {
        guard case .bool(let b) = self else { return nil }
        return b
    }

    public var arrayValue: [JSONValue]? {
        guard case .array(let items) = self else { return nil }
        return items
    }

    public var objectValue: JSONObject? {
        guard case .object(let object) = self else { return nil }
        return object
    }

    public var isNull: Bool { self == .null }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { text }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self.init(integer: value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
}

// MARK: - The parser

/// One pass over the bytes; every read is bounds-checked by `i < end` before it happens.
private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var i = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// The kind of each container being read, innermost last. Their members so far live in
    /// `arrays` / `objects` (and an object's pending key in `keys`), each its own stack, so a
    /// member is appended in place: a container held inside an enum payload would be copied
    /// whole on every append (its buffer referenced twice while unpacked), which made parsing
    /// quadratic in a container's size (200,000 elements: minutes).
    private enum Open {
        case array
        case object
    }

    private func fail(_ reason: JSONParseError.Reason) -> JSONParseError {
        JSONParseError(reason, at: i)
    }

    private func failHere() -> JSONParseError {
        i < bytes.count ? JSONParseError(.unexpectedByte(bytes[i]), at: i) : JSONParseError(.unexpectedEnd, at: i)
    }

    private mutating func skipWhitespace() {
        // RFC 8259 §2: ws = *( %x20 / %x09 / %x0A / %x0D )
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i &+= 1
            default: return
            }
        }
    }

    private var next: UInt8? { i < bytes.count ? bytes[i] : nil }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        var stack: [Open] = []
        var arrays: [[JSONValue]] = []
        var objects: [JSONObject] = []
        var keys: [String] = []
        var value: JSONValue
        readValue: while true {
            skipWhitespace()
            guard let b = next else { throw fail(.unexpectedEnd) }
            switch b {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard stack.count < maxDepth else { throw fail(.tooDeep) }
                i &+= 1
                skipWhitespace()
                if b == UInt8(ascii: "[") {
                    if next == UInt8(ascii: "]") {
                        i &+= 1
                        value = .array([])
                    } else {
                        stack.append(.array)
                        arrays.append([])
                        continue readValue
                    }
                } else {
                    if next == UInt8(ascii: "}") {
                        i &+= 1
                        value = .object(JSONObject())
                    } else {
                        keys.append(try readKey())
                        stack.append(.object)
                        objects.append(JSONObject())
                        continue readValue
                    }
                }
            case UInt8(ascii: "\""):
                value = .string(try readString())
            case UInt8(ascii: "t"):
                try readLiteral("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try readLiteral("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try readLiteral("null")
                value = .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = i
                var end = i
                guard JSONParser.scanNumber(bytes, from: start, end: &end) else {
                    i = end
                    throw fail(.invalidNumber)
                }
                i = end
                value = .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
            default:
                throw failHere()
            }

            // A value is complete: hand it to the innermost open container, closing those that end.
            // The stacks move together: `stack` has one entry per open array in `arrays` and per
            // open object in `objects` (and its key in `keys`), so `.last` is never absent there.
            while let open = stack.last {
                skipWhitespace()
                switch open {
                case .array:
                    guard !arrays.isEmpty else { throw failHere() }
                    arrays[arrays.count &- 1].append(value)
                    if next == UInt8(ascii: ",") {
                        i &+= 1
                        continue readValue
                    }
                    guard next == UInt8(ascii: "]") else { throw failHere() }
                    i &+= 1
                    stack.removeLast()
                    value = .array(arrays.removeLast())
                case .object:
                    guard !objects.isEmpty, let key = keys.popLast() else { throw failHere() }
                    objects[objects.count &- 1].append(key: key, value: value)
                    if next == UInt8(ascii: ",") {
                        i &+= 1
                        skipWhitespace()
                        keys.append(try readKey())
                        continue readValue
                    }
                    guard next == UInt8(ascii: "}") else { throw failHere() }
                    i &+= 1
                    stack.removeLast()
                    value = .object(objects.removeLast())
                }
            }
            skipWhitespace()
            guard i == bytes.count else { throw fail(.trailingData) }
            return value
        }
    }

    /// `"name"` then `:`.
    private mutating func readKey() throws(JSONParseError) -> String {
        guard next == UInt8(ascii: "\"") else { throw failHere() }
        let key = try readString()
        skipWhitespace()
        guard next == UInt8(ascii: ":") else { throw failHere() }
        i &+= 1
        return key
    }

    private mutating func readLiteral(_ word: String) throws(JSONParseError) {
        for expected in word.utf8 {
            guard i < bytes.count else { throw fail(.unexpectedEnd) }
            guard bytes[i] == expected else { throw failHere() }
            i &+= 1
        }
    }

    /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?`, longest match from
    /// `from`; `end` is where it stopped. What follows is the caller's to judge (`01` is `0`
    /// then a stray `1`).
    static func scanNumber(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, end: inout Int) -> Bool {
        var i = start
        func digit(_ at: Int) -> Bool {
            at < bytes.count && bytes[at] >= UInt8(ascii: "0") && bytes[at] <= UInt8(ascii: "9")
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i &+= 1 }
        guard digit(i) else { end = i; return false }
        if bytes[i] == UInt8(ascii: "0") {
            i &+= 1
        } else {
            while digit(i) { i &+= 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i &+= 1
            guard digit(i) else { end = i; return false }
            while digit(i) { i &+= 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i &+= 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i &+= 1 }
            guard digit(i) else { end = i; return false }
            while digit(i) { i &+= 1 }
        }
        end = i
        return true
    }

    /// A string from its opening quote: escapes decoded (RFC 8259 §7), UTF-8 checked (§8.1).
    private mutating func readString() throws(JSONParseError) -> String {
        i &+= 1  // the opening quote
        // Fast path: printable ASCII up to the closing quote needs no copy.
        let start = i
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                i &+= 1
                return s
            }
            guard b >= 0x20, b < 0x80, b != UInt8(ascii: "\\") else { break }
            i &+= 1
        }
        var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        while true {
            guard i < bytes.count else { throw fail(.unexpectedEnd) }
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                i &+= 1
                // Every byte in `out` is well-formed UTF-8 by construction.
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try readEscape(into: &out)
            case 0..<0x20:
                throw fail(.controlCharacterInString)
            case 0x20..<0x80:
                out.append(b)
                i &+= 1
            default:
                try readUTF8Sequence(into: &out)
            }
        }
    }

    /// One multi-byte UTF-8 sequence, well-formed per Unicode Table 3-7 (no overlongs, no
    /// encoded surrogates, nothing above U+10FFFF).
    private mutating func readUTF8Sequence(into out: inout [UInt8]) throws(JSONParseError) {
        let lead = bytes[i]
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF  // range of the second byte
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw fail(.invalidUTF8)
        }
        guard bytes.count &- i >= length else {
            // A truncated sequence at the end of the text: bad UTF-8 if what is there is wrong,
            // else the string never closed.
            throw fail(.invalidUTF8)
        }
        let second = bytes[i &+ 1]
        guard second >= low, second <= high else { throw fail(.invalidUTF8) }
        for k in 2..<max(2, length) {
            let c = bytes[i &+ k]
            guard c >= 0x80, c <= 0xBF else { throw fail(.invalidUTF8) }
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<(i &+ length)]))
        i &+= length
    }

    /// A backslash escape; a high surrogate `\uD8xx` must be followed by its low `\uDCxx`.
    private mutating func readEscape(into out: inout [UInt8]) throws(JSONParseError) {
        i &+= 1  // the backslash
        guard let e = next else { throw fail(.unexpectedEnd) }
        let simple: UInt8?
        switch e {
        case UInt8(ascii: "\""): simple = 0x22
        case UInt8(ascii: "\\"): simple = 0x5C
        case UInt8(ascii: "/"): simple = 0x2F
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): simple = nil
        default: throw fail(.invalidEscape)
        }
        if let simple {
            out.append(simple)
            i &+= 1
            return
        }
        let escapeStart = i &- 1
        i &+= 1
        let unit = try readHex4()
        var scalarValue = UInt32(unit)
        switch unit {
        case 0xD800...0xDBFF:
            guard bytes.count &- i >= 6, bytes[i] == UInt8(ascii: "\\"), bytes[i &+ 1] == UInt8(ascii: "u") else {
                throw JSONParseError(.unpairedSurrogate, at: escapeStart)
            }
            i &+= 2
            let lowUnit = try readHex4()
            guard (0xDC00...0xDFFF).contains(lowUnit) else { throw JSONParseError(.unpairedSurrogate, at: escapeStart) }
            scalarValue = 0x10000 &+ ((UInt32(unit) &- 0xD800) << 10) &+ (UInt32(lowUnit) &- 0xDC00)
        case 0xDC00...0xDFFF:
            throw JSONParseError(.unpairedSurrogate, at: escapeStart)
        default:
            break
        }
        guard let scalar = Unicode.Scalar(scalarValue) else { throw JSONParseError(.unpairedSurrogate, at: escapeStart) }
        UTF8.encode(scalar) { out.append($0) }
    }

    private mutating func readHex4() throws(JSONParseError) -> UInt16 {
        var unit: UInt16 = 0
        for _ in 0..<4 {
            guard let h = next else { throw fail(.unexpectedEnd) }
            let v: UInt8
            switch h {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = h &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = h &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = h &- UInt8(ascii: "A") &+ 10
            default: throw fail(.invalidEscape)
            }
            unit = unit << 4 | UInt16(v)
            i &+= 1
        }
        return unit
    }
}
