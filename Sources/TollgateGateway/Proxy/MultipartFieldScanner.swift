// SPDX-License-Identifier: Apache-2.0
// Reads a multipart/form-data request body (RFC 7578) as it arrives, for the two fields the
// gateway decides by: `model` (SPEC §3: "multipart: the `model` field") and `stream`. The body
// itself is passed to the backend untouched; this only watches it go by. Every part is still
// parsed to the close delimiter, so a malformed body or a second `model` after a large file is
// refused rather than forwarded in a form the gateway did not read (what it authorises and
// prices is what the backend runs). File bytes are never held: the parser hands them on and
// only the two text fields' values are kept, each bounded.
import TollgateCore

struct MultipartFieldScanner {
    /// A `model` value longer than this cannot name a configured model (JSON's bound too).
    static let maxModelBytes = JSONRequestScanner.maxModelBytes
    /// `stream` is `true` or `false`; anything longer is not a flag.
    static let maxStreamBytes = 16

    private var parser: MultipartParser
    private var fields = Fields()

    init(boundary: [UInt8]) throws(MultipartError) {
        parser = try MultipartParser(boundary: boundary)
    }

    /// The `model` field's value, once that part has ended.
    var model: String? { fields.model }
    /// The `stream` field (`true`/`1` → true), once that part has ended.
    var stream: Bool? { fields.stream }
    /// Why the body is refused (400), once known; the scanner reads no further.
    var rejection: String? { fields.rejection }

    mutating func scan(_ bytes: UnsafeRawBufferPointer) {
        guard fields.rejection == nil else { return }
        // The events go to a local copy (the parser is borrowed meanwhile); `fields` is small.
        var seen = fields
        fields = Fields()
        do {
            try parser.feed(bytes) { seen.handle($0) }
        } catch {
            if seen.rejection == nil { seen.rejection = Self.reason(error) }
        }
        fields = seen
    }

    /// The body ended: a body without its close delimiter is refused.
    mutating func finish() {
        guard fields.rejection == nil else { return }
        do {
            try parser.finish()
        } catch {
            fields.rejection = Self.reason(error)
        }
    }

    /// What the gateway keeps of the parts going by.
    private struct Fields {
        var model: String?
        var stream: Bool?
        var rejection: String?
        /// The field whose value is being collected, and its bytes so far.
        private var collecting: Field?
        private var value: [UInt8] = []
        private var sawModel = false
        private var sawStream = false

        private enum Field { case model, stream }

        mutating func handle(_ event: MultipartParser.Event) {
            guard rejection == nil else { return }
            switch event {
            case .partBegin(let headers):
                value.removeAll(keepingCapacity: true)
                collecting = nil
                switch headers.name {
                case "model":
                    // SPEC §3: a duplicate `model` could be read either way; refused.
                    guard !sawModel else { rejection = "the form has more than one `model` field"; return }
                    guard headers.filename == nil else { rejection = "the `model` field must be a text field, not a file"; return }
                    sawModel = true
                    collecting = .model
                case "stream":
                    guard !sawStream else { rejection = "the form has more than one `stream` field"; return }
                    sawStream = true
                    collecting = .stream
                default:
                    break
                }
            case .body(let bytes):
                guard let collecting else { return }
                let bound = collecting == .model ? MultipartFieldScanner.maxModelBytes : MultipartFieldScanner.maxStreamBytes
                guard value.count + bytes.count <= bound else {
                    rejection = collecting == .model ? "the `model` field is longer than \(bound) bytes"
                        : "the `stream` field must be true or false"
                    return
                }
                value.append(contentsOf: bytes)
            case .partEnd:
                guard let field = collecting else { return }
                collecting = nil
                switch field {
                case .model:
                    guard let name = String(validating: value, as: UTF8.self), !name.isEmpty else {
                        rejection = "the `model` field is empty or not UTF-8"
                        return
                    }
                    model = name
                case .stream:
                    switch String(decoding: value, as: UTF8.self).lowercased() {
                    case "true", "1": stream = true
                    case "false", "0": stream = false
                    default: rejection = "the `stream` field must be true or false"
                    }
                }
                value.removeAll(keepingCapacity: false)
            case .end:
                break
            }
        }
    }

    /// The parser's reason, in words for the client's 400.
    static func reason(_ error: MultipartError) -> String {
        switch error {
        case .notMultipartFormData: return "the Content-Type is not multipart/form-data"
        case .missingBoundary: return "the Content-Type has no boundary parameter"
        case .invalidBoundary: return "the Content-Type's boundary is invalid (RFC 2046: 1-70 characters of its set, not ending in a space)"
        case .headersTooLarge: return "a part's headers exceed \(MultipartParser.maxHeaderBytes) bytes"
        case .tooManyParts: return "the form has more than \(MultipartParser.maxParts) parts"
        case .preambleTooLarge: return "more than \(MultipartParser.maxPreambleBytes) bytes precede the first boundary"
        case .invalidDelimiterLine: return "a boundary line has something other than padding before its line end"
        case .trailingData: return "data follows the closing boundary"
        case .truncated: return "the body ended before the closing boundary"
        case .headerLineWithoutCRLF: return "a part's header line does not end in CRLF"
        case .invalidHeaderLine: return "a part has an invalid header line"
        case .missingContentDisposition: return "a part has no Content-Disposition header"
        case .invalidContentDisposition: return "a part's Content-Disposition is not form-data or does not parse"
        case .missingName: return "a part's Content-Disposition has no name"
        }
    }
}
