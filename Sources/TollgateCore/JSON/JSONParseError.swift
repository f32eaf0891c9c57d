// SPDX-License-Identifier: Apache-2.0
// Why `JSONValue.parse` refused a text. Every refusal is a thrown value with the byte offset
// where it was found; none of them is reachable as a trap.

public struct JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// The text ended inside a value (or was empty).
        case unexpectedEnd
        /// A byte that cannot start or continue a value here (RFC 8259 §2).
        case unexpectedByte(UInt8)
        /// A number outside RFC 8259 §6's grammar (leading zero, `+`, `.5`, `1.`, `1e`, …).
        case invalidNumber
        /// A backslash escape other than RFC 8259 §7's `\" \\ \/ \b \f \n \r \t \uXXXX`.
        case invalidEscape
        /// A `\u` escape of a UTF-16 surrogate without its pair. Refused rather than replaced
        /// by U+FFFD, as JSONRequestScanner does (RFC 7493 §2.1): what a backend reads must be
        /// what the gateway read.
        case unpairedSurrogate
        /// String bytes that are not well-formed UTF-8 (RFC 8259 §8.1; Unicode Table 3-7).
        case invalidUTF8
        /// A raw control byte (U+0000…U+001F) inside a string (RFC 8259 §7).
        case controlCharacterInString
        /// Arrays and objects nested deeper than `maxDepth`.
        case tooDeep
        /// Something other than whitespace after the value.
        case trailingData
    }

    public let reason: Reason
    /// Offset of the offending byte in the parsed text.
    public let offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch reason {
        case .unexpectedEnd: what = "unexpected end of JSON text"
        case .unexpectedByte(let b):
            what = (0x21...0x7E).contains(b) ? "unexpected character '\(Character(Unicode.Scalar(b)))'" : "unexpected byte 0x\(String(b, radix: 16))"
        case .invalidNumber: what = "invalid number"
        case .invalidEscape: what = "invalid escape in a string"
        case .unpairedSurrogate: what = "unpaired UTF-16 surrogate in a string"
        case .invalidUTF8: what = "invalid UTF-8 in a string"
        case .controlCharacterInString: what = "unescaped control character in a string"
        case .tooDeep: what = "JSON nested too deeply"
        case .trailingData: what = "unexpected data after the JSON value"
        }
        return "\(what) at byte \(offset)"
    }
}
