// SPDX-License-Identifier: Apache-2.0
// Finds, as a request body streams past, the edits that make `stream_options.include_usage`
// true, so a streamed chat is metered whatever the client asked (issue 7 item 15; servers send
// the usage chunk only when asked — research/backend-protocols.md §5):
//   - no top-level `stream_options`: insert `,"stream_options":{"include_usage":true}` before
//     the closing brace;
//   - `stream_options` an object: each `include_usage` whose value is not `true` gets `true`;
//     without one, `"include_usage":true` goes in before its closing brace;
//   - `stream_options: null`: replaced by `{"include_usage":true}`.
// It also tells whether the client itself asked for usage (then it gets the usage chunk).
//
// It rides on JSONRequestScanner, which has already checked and scanned the chunk: the scanner
// delimits the top-level `stream_options` value and finds the closing brace, so this follows
// only the bytes of that value (a few dozen), never the message text around it. Member names
// inside it are compared decoded (`include\u005fusage` is `include_usage`), so an escaped
// duplicate cannot hide a `false` from the gateway that the upstream would honour. It never
// traps on bad input. Offsets are absolute body offsets, like the scanner's.

package struct StreamOptionsLocator {
    package struct Edit: Equatable {
        package var at: Int
        package var remove: Int
        package var insert: [UInt8]

        package init(at: Int, remove: Int, insert: [UInt8]) {
            self.at = at
            self.remove = remove
            self.insert = insert
        }
    }

    package init() {}

    /// Edits found so far, in offset order (later ones are appended as bytes arrive).
    package private(set) var edits: [Edit] = []
    /// A value whose edit is undecided starts here (a literal or string being read): the body
    /// must not be sent past this offset until it is decided.
    package private(set) var holdFrom: Int?
    /// nil: no `stream_options`; else whether the client's (last) `include_usage` was `true`.
    package private(set) var clientAskedForUsage: Bool?

    /// The top-level `stream_options` value has ended, or the object without one has: no byte
    /// after it matters.
    private var done = false

    // Following the value (`followValue`).
    private var offset = 0
    /// Containers open inside the value: 1 is inside the `stream_options` object itself.
    private var depth = 0
    private var inString = false
    private var escaped = false
    /// Inside the `stream_options` object at its own level: the next string is a member name.
    private var expectingKey = false
    private var readingKey = false
    /// Decoded member name being read (bounded; longer names match nothing of interest).
    private var key: [UInt8] = []
    private var keyTooLong = false
    private var unicodeDigits = -1
    private var unicodeValue: UInt32 = 0
    /// What the next value is: `stream_options`' own (before its first byte), an
    /// `include_usage` inside it, or anything else.
    private var valueFor: Member = .streamOptions

    // Inside the `stream_options` object.
    private var inOptions = false
    private var optionMembers = 0
    private var optionsHaveIncludeUsage = false

    // A literal or string value being read whose edit depends on it.
    private var pending: Pending?
    /// The first bytes of that literal, and its whole length.
    private var literal: [UInt8] = []
    private var literalLength = 0

    private enum Member { case other, streamOptions, includeUsage }
    private enum Pending { case optionsLiteral, usageLiteral, usageString }

    private static let usageOption = Array(#","stream_options":{"include_usage":true}"#.utf8)
    private static let bareUsageOption = Array(#""stream_options":{"include_usage":true}"#.utf8)
    private static let includeUsageMember = Array(#""include_usage":true"#.utf8)
    private static let commaIncludeUsageMember = Array(#","include_usage":true"#.utf8)
    private static let optionsObject = Array(#"{"include_usage":true}"#.utf8)
    private static let trueLiteral = Array("true".utf8)

    /// Follows the chunk `scanner` has just scanned: `bytes` are the last `bytes.count` bytes
    /// it took. Only the part inside the top-level `stream_options` value is read.
    package mutating func follow(_ bytes: UnsafeRawBufferPointer, scannedBy scanner: JSONRequestScanner) {
        guard !done, scanner.rejection == nil else { return }
        let chunkEnd = scanner.offset
        let chunkStart = chunkEnd - bytes.count
        if let start = scanner.streamOptionsStart {
            let from = max(start, chunkStart)
            let to = min(scanner.streamOptionsEnd ?? chunkEnd, chunkEnd)
            if from < to {
                followValue(UnsafeRawBufferPointer(rebasing: bytes[(from - chunkStart)..<(to - chunkStart)]), at: from)
            }
            if scanner.streamOptionsEnd != nil { valueEnded() }
        } else if let brace = scanner.closingBraceOffset, !scanner.hasStreamOptions {
            add(Edit(at: brace, remove: 0, insert: scanner.hasMembers ? Self.usageOption : Self.bareUsageOption))
            done = true
        }
    }

    /// The body ended: a value still open (only in malformed JSON, which the scanner rejects)
    /// holds nothing back any more.
    package mutating func finish() {
        if pending == .optionsLiteral || pending == .usageLiteral { endLiteral() }
        pending = nil
        holdFrom = nil
    }

    /// Reads the next bytes of the top-level `stream_options` value, the first of which is at
    /// absolute offset `start`. Bytes that are not JSON are read without trapping.
    mutating func followValue(_ bytes: UnsafeRawBufferPointer, at start: Int) {
        offset = start
        var i = 0
        while i < bytes.count {
            if inString && !escaped && !readingKey && pending == nil {
                // Inside a string nobody needs: skip to the next quote or backslash.
                var j = i
                while j < bytes.count && bytes[j] != UInt8(ascii: "\"") && bytes[j] != UInt8(ascii: "\\") { j += 1 }
                offset += j - i
                i = j
                if i == bytes.count { return }
            }
            step(bytes[i])
            offset += 1
            i += 1
        }
    }

    /// The value has ended (the scanner says so): a literal in it is whole now.
    mutating func valueEnded() {
        if pending == .optionsLiteral || pending == .usageLiteral { endLiteral() }
        done = true
    }

    private mutating func step(_ b: UInt8) {
        if inString {
            stepInString(b)
            return
        }
        if pending == .optionsLiteral || pending == .usageLiteral {
            if Self.isLiteralByte(b) {
                if literal.count < 8 { literal.append(b) }
                literalLength += 1
                return
            }
            endLiteral()
        }
        let atOptionsLevel = inOptions && depth == 1
        switch b {
        case UInt8(ascii: "\""):
            inString = true
            escaped = false
            if expectingKey && atOptionsLevel {
                readingKey = true
                key.removeAll(keepingCapacity: true)
                keyTooLong = false
                unicodeDigits = -1
                optionMembers += 1
            } else if valueFor == .includeUsage && atOptionsLevel {
                // `"include_usage":"yes"`: lenient servers may read a string as a boolean.
                pending = .usageString
                holdFrom = offset
                clientAskedForUsage = false
            } else if valueFor == .streamOptions {
                clientAskedForUsage = false  // not an object: the upstream rejects it; nothing to add
            }
            valueFor = .other
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            if valueFor == .streamOptions {
                if b == UInt8(ascii: "{") {
                    inOptions = true
                    optionMembers = 0
                    optionsHaveIncludeUsage = false
                    expectingKey = true
                } else {
                    clientAskedForUsage = false  // not an object: the upstream rejects it or ignores it
                }
            }
            depth += 1
            valueFor = .other
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            if atOptionsLevel {
                inOptions = false
                if !optionsHaveIncludeUsage {
                    add(Edit(at: offset, remove: 0, insert: optionMembers > 0 ? Self.commaIncludeUsageMember : Self.includeUsageMember))
                    clientAskedForUsage = false
                }
            }
            if depth > 0 { depth -= 1 }
            valueFor = .other
            expectingKey = false
        case UInt8(ascii: ":"):
            expectingKey = false
        case UInt8(ascii: ","):
            if atOptionsLevel { expectingKey = true }
            valueFor = .other
        default:
            guard Self.isLiteralByte(b) else { return }
            if valueFor == .streamOptions {
                pending = .optionsLiteral
            } else if atOptionsLevel && valueFor == .includeUsage {
                pending = .usageLiteral
            } else {
                valueFor = .other
                return
            }
            holdFrom = offset
            literal.removeAll(keepingCapacity: true)
            literal.append(b)
            literalLength = 1
            valueFor = .other
        }
    }

    private mutating func stepInString(_ b: UInt8) {
        if escaped {
            escaped = false
            if readingKey {
                switch b {
                case UInt8(ascii: "u"): unicodeDigits = 0; unicodeValue = 0
                case UInt8(ascii: "n"): appendKey(0x0A)
                case UInt8(ascii: "t"): appendKey(0x09)
                case UInt8(ascii: "r"): appendKey(0x0D)
                case UInt8(ascii: "b"): appendKey(0x08)
                case UInt8(ascii: "f"): appendKey(0x0C)
                default: appendKey(b)
                }
            }
            return
        }
        if unicodeDigits >= 0 {
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: digit = 0; keyTooLong = true  // malformed: match nothing
            }
            unicodeValue = unicodeValue << 4 | digit
            unicodeDigits += 1
            if unicodeDigits == 4 {
                unicodeDigits = -1
                // Only ASCII can spell a name of interest; anything else makes it match nothing.
                if unicodeValue < 0x80 { appendKey(UInt8(unicodeValue)) } else { keyTooLong = true }
            }
            return
        }
        if b == UInt8(ascii: "\\") {
            escaped = true
            return
        }
        if b == UInt8(ascii: "\"") {
            inString = false
            endString()
            return
        }
        if readingKey { appendKey(b) }
    }

    private mutating func appendKey(_ b: UInt8) {
        if key.count < 32 { key.append(b) } else { keyTooLong = true }
    }

    private mutating func endString() {
        if pending == .usageString {
            // The string, quotes included (this is its closing quote), becomes `true`.
            let start = holdFrom ?? offset
            pending = nil
            holdFrom = nil
            add(Edit(at: start, remove: offset + 1 - start, insert: Self.trueLiteral))
            return
        }
        if readingKey && !keyTooLong && Self.equals(key, "include_usage") {
            valueFor = .includeUsage
            optionsHaveIncludeUsage = true
        } else {
            valueFor = .other
        }
        readingKey = false
    }

    private mutating func endLiteral() {
        guard let kind = pending, let start = holdFrom else {
            pending = nil
            return
        }
        pending = nil
        holdFrom = nil
        let isTrue = literalLength == 4 && Self.equals(literal, "true")
        switch kind {
        case .usageLiteral:
            // `false`, `null`, `0`, …: whatever it is, the upstream gets `true`.
            clientAskedForUsage = isTrue
            if !isTrue { add(Edit(at: start, remove: literalLength, insert: Self.trueLiteral)) }
        case .optionsLiteral:
            clientAskedForUsage = false
            // `null` means "no options": give the upstream ours. Any other literal is invalid
            // there and is left for the upstream to reject.
            if literalLength == 4 && Self.equals(literal, "null") {
                add(Edit(at: start, remove: 4, insert: Self.optionsObject))
            }
        case .usageString:
            break
        }
    }

    private mutating func add(_ edit: Edit) {
        // Offsets only grow as bytes arrive, so appending keeps the order.
        edits.append(edit)
    }

    private static func equals(_ bytes: [UInt8], _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        for i in 0..<bytes.count where bytes[i] != text.utf8Start[i] { return false }
        return true
    }

    private static func isLiteralByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == UInt8(ascii: "-")
            || b == UInt8(ascii: "+") || b == UInt8(ascii: ".")
    }
}
