// SPDX-License-Identifier: Apache-2.0
// Finds what routing needs in a JSON request body — the top-level "model" and "stream"
// members and whether "stream_options" is present — as bytes arrive, without building any
// object tree (a 100 MB embeddings input is never decoded). It also checks the structure
// (one object, balanced, strings terminated), and records where the model value and the final
// closing brace sit, so the body can be rewritten while it streams.

struct JSONRequestScanner {
    enum Failure: Error, Equatable {
        case notAnObject
        case malformed(String)
    }

    private enum State {
        case start, inObject, inString, afterTopLevel
    }

    /// Bytes scanned so far (absolute offset of the next byte).
    private(set) var offset = 0
    private(set) var model: String?
    /// Absolute byte range of the model value including its quotes.
    private(set) var modelRange: Range<Int>?
    private(set) var stream: Bool?
    private(set) var hasStreamOptions = false
    /// Absolute offset of the `}` that closes the top-level object, once seen.
    private(set) var closingBraceOffset: Int?
    private(set) var failure: Failure?

    private var state = State.start
    private var depth = 0
    private var escaped = false
    /// At depth 1: the next string is a member name.
    private var expectingKey = false
    private var stringIsKey = false
    private var keyBytes: [UInt8] = []
    private var stringStart = 0
    private var stringBytes: [UInt8] = []
    private var captureString = false
    private var pendingKey: [UInt8] = []
    /// A top-level value of interest starts at the next non-space byte.
    private var awaitingValueFor: [UInt8]?
    private var literalStart = -1
    private var literalBytes: [UInt8] = []

    var isComplete: Bool { closingBraceOffset != nil }

    /// Scans the next bytes of the body.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var i = 0
        let count = bytes.count
        while i < count {
            if state == .inString && !escaped && !captureString {
                // Inside a string nobody needs (message text): skip to the next byte that
                // matters without running the state machine on each one.
                var j = i
                while j < count {
                    let b = base[j]
                    if b == UInt8(ascii: "\\") || b == UInt8(ascii: "\"") || b < 0x20 { break }
                    j += 1
                }
                offset += j - i
                i = j
                if i == count { return }
            }
            step(base[i])
            offset += 1
            i += 1
            if failure != nil { return }
        }
    }

    /// Called at the end of the body.
    mutating func finish() {
        guard failure == nil else { return }
        finishLiteral()
        if state == .start { failure = .notAnObject }
        else if closingBraceOffset == nil { failure = .malformed("unexpected end of JSON body") }
    }

    private mutating func step(_ b: UInt8) {
        switch state {
        case .start:
            if Self.isSpace(b) { return }
            guard b == UInt8(ascii: "{") else { failure = .notAnObject; return }
            state = .inObject
            depth = 1
            expectingKey = true
        case .afterTopLevel:
            if !Self.isSpace(b) { failure = .malformed("trailing data after the JSON object") }
        case .inString:
            if escaped {
                escaped = false
                if captureString { stringBytes.append(Self.unescape(b)) }
                return
            }
            if b == UInt8(ascii: "\\") {
                escaped = true
                return
            }
            if b == UInt8(ascii: "\"") {
                endString()
                return
            }
            if b < 0x20 { failure = .malformed("control character in a JSON string"); return }
            if captureString && stringBytes.count < 512 { stringBytes.append(b) }
        case .inObject:
            if literalStart >= 0 {
                if Self.isLiteralByte(b) {
                    if literalBytes.count < 8 { literalBytes.append(b) }
                    return
                }
                finishLiteral()
            }
            switch b {
            case UInt8(ascii: "\""):
                state = .inString
                stringStart = offset
                stringIsKey = depth == 1 && expectingKey
                captureString = stringIsKey || (awaitingValueFor != nil && depth == 1)
                stringBytes.removeAll(keepingCapacity: true)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                awaitingValueFor = nil
                depth += 1
                guard depth <= 512 else { failure = .malformed("JSON nested too deeply"); return }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    guard b == UInt8(ascii: "}") else { failure = .malformed("mismatched brackets"); return }
                    closingBraceOffset = offset
                    state = .afterTopLevel
                }
                if depth < 0 { failure = .malformed("mismatched brackets") }
            case UInt8(ascii: ":"):
                if depth == 1 {
                    awaitingValueFor = pendingKey
                    if Self.equals(pendingKey, "stream_options") { hasStreamOptions = true }
                }
            case UInt8(ascii: ","):
                if depth == 1 {
                    expectingKey = true
                    awaitingValueFor = nil
                }
            default:
                if Self.isSpace(b) { return }
                if Self.isLiteralByte(b) {
                    literalStart = offset
                    literalBytes.removeAll(keepingCapacity: true)
                    literalBytes.append(b)
                    return
                }
                failure = .malformed("unexpected character in JSON")
            }
        }
    }

    private mutating func endString() {
        state = .inObject
        if stringIsKey {
            // Swapped, not copied: the next string reuses the old key's storage.
            swap(&pendingKey, &stringBytes)
            expectingKey = false
        } else if depth == 1, let key = awaitingValueFor {
            if Self.equals(key, "model") {
                model = String(decoding: stringBytes, as: UTF8.self)
                modelRange = stringStart..<(offset + 1)
            }
            awaitingValueFor = nil
        }
        captureString = false
        stringIsKey = false
    }

    private mutating func finishLiteral() {
        guard literalStart >= 0 else { return }
        if depth == 1, let key = awaitingValueFor, Self.equals(key, "stream") {
            if Self.equals(literalBytes, "true") { stream = true }
            else if Self.equals(literalBytes, "false") || Self.equals(literalBytes, "null") { stream = false }
            else { failure = .malformed("\"stream\" must be a boolean") }
        }
        awaitingValueFor = nil
        literalStart = -1
    }

    /// Byte-wise equality with a literal, without building an array for the literal.
    private static func equals(_ bytes: [UInt8], _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        for i in 0..<bytes.count where bytes[i] != text.utf8Start[i] { return false }
        return true
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    private static func isLiteralByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "E")
    }

    private static func unescape(_ b: UInt8) -> UInt8 {
        switch b {
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        default: return b  // \" \\ \/ ; \uXXXX keeps the raw letters (model names are ASCII)
        }
    }
}
