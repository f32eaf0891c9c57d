// SPDX-License-Identifier: Apache-2.0
// Streams the client's body into a job platform's request, `{<prefix>"input":<json><suffix>}`
// (RunPod `/run`, Replicate's predictions with `"version":"…",` as the prefix), without ever
// holding the upload: what is read from the client is turned into output at once, and the
// next read waits until that output was taken. A 200 MB audio upload passes in a few tens of
// KiB of memory.
//
// - A JSON body is the input as it is, byte for byte (the gateway already checked it is JSON).
//   An empty body is `{}`.
// - A multipart/form-data body (RFC 7578) becomes an object, in the parts' order: a text field
//   (no filename) is a JSON string, validated as UTF-8 and escaped as it streams (RFC 8259 §7);
//   a file (a part with a filename) is a base64 string (RFC 4648 §4), or a `data:` URL with the
//   part's content type (RFC 2397) when the platform takes files that way (Replicate).
// - Names: a name may appear once. Consecutive parts named `x[]` (the form convention OpenAI's
//   SDK uses for several images) become one member `"x": [...]`. Any other repeat is refused
//   (`duplicateField`): "last wins" or an array would need the earlier value held back, and
//   sending both members would leave the choice to the platform's JSON parser (RFC 8259 §4).
//
// The encoder is a BufferedCallBodyProvider: `read(into:)` returns `.wouldBlock` when the
// client's body does (the owner resumes through `BufferedCall.bodyReadable()`), and `.abort`
// after a failure, which `failure` then names. Loop-confined.
public import TollgateUpstream
import TollgateCore

public final class JobInputEncoder: BufferedCallBodyProvider {
    public enum FileEncoding: Sendable {
        /// Bare base64 (RunPod workers decode it themselves).
        case base64
        /// `data:<content type>;base64,<data>` (Replicate's file inputs).
        case dataURL
    }

    /// Client bytes read at once: output is at most ~6 times this (a text field of control
    /// bytes, each `\u00XX`), so what the encoder holds stays near 50 KiB.
    static let readSize = 8 << 10
    public static let maxFieldNameBytes = 256

    private let source: any RequestBodySource
    private let fileEncoding: FileEncoding
    private var parser: MultipartParser?
    private var scratch: [UInt8]
    /// Output not yet taken: `out[outStart...]`.
    private var out: [UInt8] = []
    private var outStart = 0
    private var inputEnded = false
    private var suffix: [UInt8]
    /// JSON: a non-whitespace byte of the client's body was seen.
    private var sawJSONValue = false

    // Multipart state.
    private enum PartKind { case none, text, file }
    private var part = PartKind.none
    private var partName = ""
    private var firstMember = true
    /// The `x` of the `x[]` parts whose array is open.
    private var openArray: String?
    private var seenNames: Set<String> = []
    private var utf8 = UTF8Check()
    private var base64 = Base64Encoder()

    /// Why the encoding stopped (`read` returned `.abort`).
    public private(set) var failure: JobInputError?
    /// The most bytes the encoder held at once (its output not yet taken, the parser's held
    /// bytes): the constant-memory bound, for tests and metrics.
    public private(set) var maxHeldBytes = 0
    /// Output bytes handed out so far.
    public private(set) var bytesOut = 0

    /// - Parameters:
    ///   - prefix: raw JSON members written before `"input"`, each followed by a comma
    ///     (e.g. `"version":"abc",`); the caller's text, not escaped here.
    ///   - key: the member the body goes in.
    ///   - suffix: raw JSON members after it, each preceded by a comma (e.g. `,"stream":false`).
    /// - Throws: `.invalidMultipart` when the multipart boundary is not valid.
    public init(source: any RequestBodySource, format: RequestBodyFormat, prefix: String = "", key: String = "input",
                suffix: String = "", fileEncoding: FileEncoding = .base64) throws(JobInputError) {
        self.source = source
        self.fileEncoding = fileEncoding
        scratch = [UInt8](repeating: 0, count: Self.readSize)
        self.suffix = Array(suffix.utf8)
        if case .multipart(let boundary) = format {
            do {
                parser = try MultipartParser(boundary: boundary)
            } catch {
                throw .invalidMultipart("\(error)")
            }
        }
        out.append(UInt8(ascii: "{"))
        out.append(contentsOf: prefix.utf8)
        appendQuoted(key)
        out.append(UInt8(ascii: ":"))
        if parser != nil { out.append(UInt8(ascii: "{")) }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .bytes(0) }
        while true {
            if failure != nil { return .abort }
            if outStart < out.count {
                let n = min(out.count - outStart, buffer.count)
                out.withUnsafeBytes { held in
                    if let from = held.baseAddress { base.copyMemory(from: from + outStart, byteCount: n) }
                }
                outStart += n
                bytesOut += n
                if outStart == out.count {
                    out.removeAll(keepingCapacity: true)
                    outStart = 0
                }
                return .bytes(n)
            }
            if inputEnded { return .end }
            let chunk = scratch.withUnsafeMutableBytes { source.readBody(into: $0) }
            switch chunk {
            case .bytes(let n) where n > 0:
                let count = min(n, scratch.count)
                scratch.withUnsafeBytes { encode(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            case .bytes, .end:
                // A read of 0 is the end, as it is for curl's read callback.
                finishInput()
            case .wouldBlock:
                return .wouldBlock
            case .abort:
                failure = .bodyAborted
            }
            noteHeld()
        }
    }

    // MARK: - Encoding

    private func noteHeld() {
        let held = out.count - outStart + (parser?.heldByteCount ?? 0)
        if held > maxHeldBytes { maxHeldBytes = held }
    }

    private func encode(_ bytes: UnsafeRawBufferPointer) {
        guard var parser else {
            if !sawJSONValue {
                sawJSONValue = bytes.contains { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }
            }
            out.append(contentsOf: bytes)
            return
        }
        // The parser is a value: taken out while it runs, so its events may touch `self`.
        self.parser = nil
        defer { self.parser = parser }
        do {
            try parser.feed(bytes) { event in self.handle(event) }
        } catch {
            fail(.invalidMultipart("\(error)"))
        }
    }

    private func finishInput() {
        inputEnded = true
        if var parser {
            do {
                try parser.finish()
            } catch {
                fail(.invalidMultipart("\(error)"))
                return
            }
            self.parser = parser
            out.append(UInt8(ascii: "}"))
        } else if !sawJSONValue {
            out.append(contentsOf: "{}".utf8)
        }
        out.append(contentsOf: suffix)
        out.append(UInt8(ascii: "}"))
    }

    private func fail(_ error: JobInputError) {
        if failure == nil { failure = error }
    }

    private func handle(_ event: MultipartParser.Event) {
        guard failure == nil else { return }
        switch event {
        case .partBegin(let headers):
            beginPart(headers)
        case .body(let bytes):
            switch part {
            case .text: appendText(bytes)
            case .file: base64.encode(bytes, into: &out)
            case .none: break
            }
        case .partEnd:
            switch part {
            case .text:
                if !utf8.isComplete { fail(.invalidUTF8(field: partName)) }
            case .file:
                base64.finish(into: &out)
            case .none:
                return
            }
            out.append(UInt8(ascii: "\""))
            part = .none
        case .end:
            closeArray()
        }
    }

    private func beginPart(_ headers: MultipartPartHeaders) {
        let name = headers.name
        guard name.utf8.count <= Self.maxFieldNameBytes else { return fail(.fieldNameTooLong) }
        partName = name
        if name.hasSuffix("[]") && name.utf8.count > 2 {
            let member = String(name.dropLast(2))
            if openArray == member {
                out.append(UInt8(ascii: ","))
            } else {
                closeArray()
                guard seenNames.insert(member).inserted else { return fail(.duplicateField(member)) }
                beginMember(member)
                out.append(UInt8(ascii: "["))
                openArray = member
            }
        } else {
            closeArray()
            guard seenNames.insert(name).inserted else { return fail(.duplicateField(name)) }
            beginMember(name)
        }
        out.append(UInt8(ascii: "\""))
        if headers.filename != nil {
            part = .file
            base64 = Base64Encoder()
            if fileEncoding == .dataURL {
                out.append(contentsOf: "data:".utf8)
                out.append(contentsOf: Self.mediaType(headers.contentType).utf8)
                out.append(contentsOf: ";base64,".utf8)
            }
        } else {
            part = .text
            utf8 = UTF8Check()
        }
    }

    private func beginMember(_ name: String) {
        if !firstMember { out.append(UInt8(ascii: ",")) }
        firstMember = false
        appendQuoted(name)
        out.append(UInt8(ascii: ":"))
    }

    private func closeArray() {
        guard openArray != nil else { return }
        openArray = nil
        out.append(UInt8(ascii: "]"))
    }

    /// A data URL's media type: the part's, when it is plain `type/subtype` (parameters
    /// dropped); else RFC 2397's default would mislabel binary, so octet-stream.
    static func mediaType(_ contentType: String?) -> String {
        guard let contentType else { return "application/octet-stream" }
        var type = Substring(contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        while type.hasPrefix(" ") || type.hasPrefix("\t") { type.removeFirst() }
        while type.hasSuffix(" ") || type.hasSuffix("\t") { type.removeLast() }
        let parts = type.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(HeaderParameterScanner.isTokenChar) })
        else { return "application/octet-stream" }
        return type.lowercased()
    }


    private func appendQuoted(_ text: String) {
        out.append(UInt8(ascii: "\""))
        var check = UTF8Check()  // a String is valid UTF-8: only escaping matters here
        Array(text.utf8).withUnsafeBytes { appendEscaped($0, checking: &check) }
        out.append(UInt8(ascii: "\""))
    }

    private func appendText(_ bytes: UnsafeRawBufferPointer) {
        appendEscaped(bytes, checking: &utf8)
        if utf8.isInvalid { fail(.invalidUTF8(field: partName)) }
    }

    /// Appends `bytes` escaped for the inside of a JSON string (RFC 8259 §7): runs of plain
    /// bytes in one append, `"` `\` and control bytes escaped; non-ASCII checked as UTF-8.
    private func appendEscaped(_ bytes: UnsafeRawBufferPointer, checking check: inout UTF8Check) {
        var runStart = 0
        var i = 0
        let count = bytes.count
        while i < count {
            let b = bytes[i]
            if b >= 0x80 || check.pending > 0 {
                if !check.accept(b) { return }
                i += 1
                continue
            }
            guard b < 0x20 || b == 0x22 || b == 0x5C else {
                i += 1
                continue
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<i]))
            out.append(0x5C)
            switch b {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            default:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0x0F)]])
            }
            i += 1
            runStart = i
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<count]))
    }
}

/// RFC 3629's UTF-8, one byte at a time (a sequence may be split across reads): no overlong
/// forms, no surrogates, nothing above U+10FFFF.
struct UTF8Check {
    /// Continuation bytes still expected.
    private(set) var pending = 0
    /// The range the next continuation byte must be in (narrower for the second byte).
    private var low: UInt8 = 0x80, high: UInt8 = 0xBF
    private(set) var isInvalid = false

    var isComplete: Bool { pending == 0 && !isInvalid }

    /// Takes one byte; false once the text is invalid.
    mutating func accept(_ b: UInt8) -> Bool {
        guard !isInvalid else { return false }
        if pending > 0 {
            guard b >= low && b <= high else { isInvalid = true; return false }
            pending -= 1
            low = 0x80
            high = 0xBF
            return true
        }
        switch b {
        case 0x00...0x7F: return true
        case 0xC2...0xDF: pending = 1
        case 0xE0: pending = 2; low = 0xA0
        case 0xE1...0xEC, 0xEE, 0xEF: pending = 2
        case 0xED: pending = 2; high = 0x9F
        case 0xF0: pending = 3; low = 0x90
        case 0xF1...0xF3: pending = 3
        case 0xF4: pending = 3; high = 0x8F
        default: isInvalid = true; return false
        }
        return true
    }
}
