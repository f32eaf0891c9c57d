// SPDX-License-Identifier: Apache-2.0
// JobInputEncoder: the client's JSON or multipart body as a job's `{"input": …}`, streamed in
// constant memory. Expected outputs are built here by hand (and a plain base64 written below),
// never by the encoder's own code.
import Glibc
import Testing
import TollgateTestSupport
@testable import TollgateBackends
import TollgateUpstream
import TollgateCore

/// A client body served in pieces: each `readBody` gives at most the next cut's worth, and
/// (when asked) says `.wouldBlock` before every piece, as a slow client does.
final class PiecedBodySource: RequestBodySource {
    private let bytes: [UInt8]
    private var sizes: [Int]
    private var offset = 0
    private let blockEvery: Bool
    private var blocked = false
    var abortAt: Int?
    private(set) var wouldBlocks = 0

    init(_ bytes: [UInt8], sizes: [Int] = [], blockEvery: Bool = false) {
        self.bytes = bytes
        self.sizes = sizes
        self.blockEvery = blockEvery
    }

    convenience init(_ text: String, sizes: [Int] = [], blockEvery: Bool = false) {
        self.init(Array(text.utf8), sizes: sizes, blockEvery: blockEvery)
    }

    func readBody(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        if let abortAt, offset >= abortAt { return .abort }
        guard offset < bytes.count else { return .end }
        if blockEvery && !blocked {
            blocked = true
            wouldBlocks += 1
            return .wouldBlock
        }
        blocked = false
        var n = min(buffer.count, bytes.count - offset)
        if !sizes.isEmpty { n = min(n, max(sizes.removeFirst(), 1)) }
        if let abortAt { n = min(n, abortAt - offset) }
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        offset += n
        return .bytes(n)
    }

    func bufferedBody() -> [UInt8]? { nil }
}

/// Drains `encoder` with reads of `readSize` bytes; `.wouldBlock` just reads again (the source
/// is ready on the next call). Returns the output and the final chunk (`.end` or `.abort`).
func drain(_ encoder: JobInputEncoder, readSize: Int = 4096) -> ([UInt8], UpstreamBodyChunk) {
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: readSize)
    for _ in 0..<10_000_000 {
        let chunk = buffer.withUnsafeMutableBytes { encoder.read(into: $0) }
        switch chunk {
        case .bytes(let n): output += buffer[0..<n]
        case .wouldBlock: continue
        case .end, .abort: return (output, chunk)
        }
    }
    return (output, .abort)
}

func isEnd(_ chunk: UpstreamBodyChunk) -> Bool { if case .end = chunk { return true }; return false }
func isAbort(_ chunk: UpstreamBodyChunk) -> Bool { if case .abort = chunk { return true }; return false }

/// RFC 4648 base64, written plainly (the reference the encoder is checked against).
func referenceBase64(_ bytes: [UInt8]) -> String {
    let table: [Character] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    var text = ""
    var i = 0
    while i < bytes.count {
        let n = min(3, bytes.count - i)
        let b0 = Int(bytes[i]), b1 = n > 1 ? Int(bytes[i + 1]) : 0, b2 = n > 2 ? Int(bytes[i + 2]) : 0
        let v = b0 << 16 | b1 << 8 | b2
        text.append(table[v >> 18 & 63])
        text.append(table[v >> 12 & 63])
        text.append(n > 1 ? table[v >> 6 & 63] : Character("="))
        text.append(n > 2 ? table[v & 63] : Character("="))
        i += 3
    }
    return text
}

/// The inside of a JSON string for UTF-8 `text`, written plainly (RFC 8259 §7).
func referenceEscaped(_ text: [UInt8]) -> String {
    var out = ""
    for scalar in String(decoding: text, as: UTF8.self).unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out
}

/// A multipart/form-data body with `boundary` (RFC 7578): each part's name, optional filename
/// and content type, and bytes.
func multipartBody(_ parts: [(name: String, filename: String?, type: String?, data: [UInt8])], boundary: String = "XyZ") -> [UInt8] {
    var body: [UInt8] = []
    for part in parts {
        var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\""
        if let filename = part.filename { head += "; filename=\"\(filename)\"" }
        head += "\r\n"
        if let type = part.type { head += "Content-Type: \(type)\r\n" }
        head += "\r\n"
        body += Array(head.utf8) + part.data + Array("\r\n".utf8)
    }
    body += Array("--\(boundary)--\r\n".utf8)
    return body
}

let multipartXYZ = RequestBodyFormat.multipart(boundary: Array("XyZ".utf8))

struct JobInputEncoderTests {
    private func encode(_ body: [UInt8], format: RequestBodyFormat = multipartXYZ, sizes: [Int] = [], blockEvery: Bool = false,
                        prefix: String = "", suffix: String = "", files: JobInputEncoder.FileEncoding = .base64,
                        readSize: Int = 4096) throws -> (String, UpstreamBodyChunk, JobInputEncoder) {
        let source = PiecedBodySource(body, sizes: sizes, blockEvery: blockEvery)
        let encoder = try JobInputEncoder(source: source, format: format, prefix: prefix, suffix: suffix, fileEncoding: files)
        let (output, last) = drain(encoder, readSize: readSize)
        return (String(decoding: output, as: UTF8.self), last, encoder)
    }

    @Test func aJSONBodyIsWrappedByteForByte() throws {
        let body = "{\"prompt\": \"a cat\\n\",\n \"n\":2, \"x\":[1.50e3, null]}"
        let (out, last, _) = try encode(Array(body.utf8), format: .json, sizes: [1, 2, 3, 5, 7])
        #expect(isEnd(last))
        #expect(out == "{\"input\":" + body + "}")
    }

    @Test func aPrefixAndSuffixSurroundTheInput() throws {
        let (out, _, _) = try encode(Array("{\"a\":1}".utf8), format: .json, prefix: "\"version\":\"abc\",", suffix: ",\"stream\":false")
        #expect(out == "{\"version\":\"abc\",\"input\":{\"a\":1},\"stream\":false}")
    }

    @Test func anEmptyJSONBodyIsAnEmptyObject() throws {
        #expect(try encode([], format: .json).0 == "{\"input\":{}}")
        #expect(try encode(Array(" \n".utf8), format: .json).0 == "{\"input\": \n{}}")
    }

    @Test func textFieldsAreStringsAndFilesBase64() throws {
        let file: [UInt8] = [0, 1, 2, 0xFF, 0xFE, 0x80, 0x0D, 0x0A, 0x2D, 0x2D]
        let body = multipartBody([("prompt", nil, nil, Array("a \"red\" cat\\ \n\t\u{01}".utf8)),
                                  ("image", "cat.png", "image/png", file),
                                  ("n", nil, "text/plain", Array("2".utf8))])
        let (out, last, _) = try encode(body)
        #expect(isEnd(last))
        let expected = "{\"input\":{\"prompt\":\"a \\\"red\\\" cat\\\\ \\n\\t\\u0001\",\"image\":\"\(referenceBase64(file))\",\"n\":\"2\"}}"
        #expect(out == expected)
    }

    @Test func filesMayBeDataURLsWithTheirType() throws {
        let body = multipartBody([("audio", "a.wav", "Audio/WAV; rate=16000", [1, 2, 3, 4]),
                                  ("raw", "x.bin", "not a type", [9]),
                                  ("none", "y", nil, [])])
        let (out, _, _) = try encode(body, files: .dataURL)
        #expect(out == "{\"input\":{\"audio\":\"data:audio/wav;base64,AQIDBA==\",\"raw\":\"data:application/octet-stream;base64,CQ==\",\"none\":\"data:application/octet-stream;base64,\"}}")
    }

    @Test func multibyteTextSplitAnywhereIsKept() throws {
        let text = "é — 日本 😀 \"q\""
        let body = multipartBody([("t", nil, nil, Array(text.utf8))])
        let expected = "{\"input\":{\"t\":\"é — 日本 😀 \\\"q\\\"\"}}"
        // Every cut position, one byte at a time included.
        for size in 1...9 {
            let (out, last, _) = try encode(body, sizes: Array(repeating: size, count: body.count))
            #expect(isEnd(last))
            #expect(out == expected, "pieces of \(size)")
        }
    }

    @Test(arguments: [
        ("bad lead byte", [0x61, 0xFF, 0x62]),
        ("continuation alone", [0x80]),
        ("overlong slash", [0xC0, 0xAF]),
        ("overlong 3-byte", [0xE0, 0x80, 0xAF]),
        ("surrogate", [0xED, 0xA0, 0x80]),
        ("above U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
        ("cut at the end", [0x61, 0xE2, 0x82]),
        ("ASCII inside a sequence", [0xE2, 0x41, 0x82]),
    ] as [(String, [UInt8])])
    func invalidUTF8InATextFieldFailsCleanly(_ name: String, _ bytes: [UInt8]) throws {
        let body = multipartBody([("ok", nil, nil, Array("fine".utf8)), ("bad", nil, nil, bytes)])
        for size in [1, 2, 1000] {
            let (_, last, encoder) = try encode(body, sizes: Array(repeating: size, count: body.count))
            #expect(isAbort(last), "\(name)")
            #expect(encoder.failure == .invalidUTF8(field: "bad"), "\(name)")
            // Stays failed.
            var buffer = [UInt8](repeating: 0, count: 16)
            #expect(isAbort(buffer.withUnsafeMutableBytes { encoder.read(into: $0) }))
        }
    }

    @Test func invalidUTF8InAFileIsJustBytes() throws {
        let body = multipartBody([("f", "f.bin", nil, [0xFF, 0xC0, 0xED, 0xA0])])
        let (out, last, _) = try encode(body)
        #expect(isEnd(last) && out == "{\"input\":{\"f\":\"\(referenceBase64([0xFF, 0xC0, 0xED, 0xA0]))\"}}")
    }

    @Test func consecutiveBracketFieldsBecomeAnArray() throws {
        let body = multipartBody([("image[]", "a.png", nil, [1]), ("image[]", "b.png", nil, [2, 3]),
                                  ("tags[]", nil, nil, Array("x".utf8)), ("prompt", nil, nil, Array("p".utf8))])
        let (out, last, _) = try encode(body)
        #expect(isEnd(last))
        #expect(out == "{\"input\":{\"image\":[\"AQ==\",\"AgM=\"],\"tags\":[\"x\"],\"prompt\":\"p\"}}")
    }

    @Test(arguments: [
        [("a", "1"), ("a", "2")],
        [("a[]", "1"), ("b", "2"), ("a[]", "3")],
        [("a", "1"), ("a[]", "2")],
    ])
    func aRepeatedFieldIsRefused(_ fields: [(String, String)]) throws {
        let body = multipartBody(fields.map { ($0.0, nil, nil, Array($0.1.utf8)) })
        let (_, last, encoder) = try encode(body)
        #expect(isAbort(last))
        #expect(encoder.failure == .duplicateField("a"))
    }

    @Test func anEmptyMultipartIsAnEmptyObject() throws {
        let (out, last, _) = try encode(Array("--XyZ--\r\n".utf8))
        #expect(isEnd(last) && out == "{\"input\":{}}")
    }

    @Test func aTruncatedMultipartFails() throws {
        var body = multipartBody([("a", nil, nil, Array("1".utf8))])
        body.removeLast(8)
        let (_, last, encoder) = try encode(body)
        #expect(isAbort(last))
        #expect(encoder.failure == .invalidMultipart("truncated"))
    }

    @Test func anInvalidBoundaryIsATypedError() {
        #expect(throws: JobInputError.self) {
            try JobInputEncoder(source: PiecedBodySource(""), format: .multipart(boundary: Array("bad\r".utf8)))
        }
    }

    @Test func aClientThatGoesAwayAborts() throws {
        let source = PiecedBodySource(multipartBody([("a", nil, nil, Array("123456".utf8))]))
        source.abortAt = 20
        let encoder = try JobInputEncoder(source: source, format: multipartXYZ)
        let (_, last) = drain(encoder)
        #expect(isAbort(last) && encoder.failure == .bodyAborted)
    }

    @Test func wouldBlockPassesThroughAndTheOutputIsTheSame() throws {
        let body = multipartBody([("prompt", nil, nil, Array("hello".utf8)), ("f", "f", nil, Array(0..<200))])
        let source = PiecedBodySource(body, sizes: Array(repeating: 7, count: body.count), blockEvery: true)
        let encoder = try JobInputEncoder(source: source, format: multipartXYZ)
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        var blocked = 0
        loop: while true {
            switch buffer.withUnsafeMutableBytes({ encoder.read(into: $0) }) {
            case .bytes(let n): output += buffer[0..<n]
            case .wouldBlock: blocked += 1
            case .end: break loop
            case .abort: Issue.record("aborted: \(String(describing: encoder.failure))"); break loop
            }
        }
        #expect(blocked == source.wouldBlocks && blocked > 10)
        let (single, _, _) = try encode(body)
        #expect(String(decoding: output, as: UTF8.self) == single)
    }

    @Test func randomSplitsGiveTheSameOutputAsOneRead() throws {
        var random = SplitMix64(seed: TestSeed.value(for: "JobInputEncoderTests.randomSplits"))
        for round in 0..<40 {
            var parts: [(name: String, filename: String?, type: String?, data: [UInt8])] = []
            for p in 0..<Int(random.next() % 5) {
                let length = Int(random.next() % 300)
                if random.next() % 2 == 0 {
                    // Text: ASCII with quotes, controls and some multibyte characters.
                    let alphabet = Array("ab\"\\\n\t\u{7F}é日😀-\r".unicodeScalars)
                    var text = ""
                    for _ in 0..<length { text.unicodeScalars.append(alphabet[Int(random.next() % UInt64(alphabet.count))]) }
                    parts.append(("t\(p)", nil, nil, Array(text.utf8)))
                } else {
                    parts.append(("f\(p)", "f", "image/png", (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }))
                }
            }
            let body = multipartBody(parts)
            let members = parts.map { part in
                "\"\(part.name)\":\"" + (part.filename != nil ? referenceBase64(part.data) : referenceEscaped(part.data)) + "\""
            }
            let expected = "{\"input\":{" + members.joined(separator: ",") + "}}"
            let (whole, wholeLast, _) = try encode(body, sizes: [body.count + 1], readSize: 1 << 20)
            #expect(isEnd(wholeLast) && whole == expected, "round \(round)")
            let sizes = (0..<body.count).map { _ in Int(random.next() % 40) + 1 }
            let (split, splitLast, _) = try encode(body, sizes: sizes, readSize: Int(random.next() % 100) + 1)
            #expect(isEnd(splitLast) && split == whole, "round \(round)")
        }
    }

    /// A 50 MB file part, produced and checked on the fly: the encoder's held bytes stay a
    /// small constant (its output not yet taken plus the parser's), whatever the upload's size.
    @Test func aFiftyMegabyteFileStreamsInConstantMemory() throws {
        let size = 50 << 20
        let source = GeneratedUpload(fileSize: size)
        let encoder = try JobInputEncoder(source: source, format: multipartXYZ, prefix: "\"version\":\"v\",")
        // The file's bytes repeat every 251; base64 repeats every 753 bytes = 1004 characters.
        let period = Array(referenceBase64((0..<753).map { UInt8($0 % 251) }).utf8)
        let head = Array("{\"version\":\"v\",\"input\":{\"prompt\":\"hi\",\"file\":\"".utf8)
        let fullGroups = size / 3
        let tailBytes = (size - fullGroups * 3)
        let tail = Array(referenceBase64((0..<tailBytes).map { UInt8((fullGroups * 3 + $0) % 251) }).utf8)
            + Array("\"}}".utf8)
        let total = head.count + fullGroups * 4 + tail.count
        // The expected middle, long enough for any read's window into it: compared with memcmp
        // (a byte loop over 67 MB takes half a minute in a debug build).
        let reads = 16 << 10
        let periodic = Array(repeatElement(period, count: reads / period.count + 2).joined())
        let middleStart = head.count, middleEnd = head.count + fullGroups * 4
        var position = 0
        var mismatches = 0
        var buffer = [UInt8](repeating: 0, count: reads)
        var done = false
        while !done {
            switch buffer.withUnsafeMutableBytes({ encoder.read(into: $0) }) {
            case .bytes(let n):
                var i = 0
                while i < n {
                    let at = position + i
                    if at >= middleStart && at < middleEnd {
                        // A run inside the middle: one compare against the periodic reference.
                        let run = min(n - i, middleEnd - at)
                        let phase = (at - middleStart) % period.count
                        let same = buffer.withUnsafeBytes { got in
                            periodic.withUnsafeBytes { want in
                                memcmp(got.baseAddress! + i, want.baseAddress! + phase, run) == 0
                            }
                        }
                        if !same { mismatches += 1 }
                        i += run
                        continue
                    }
                    let expected: UInt8
                    if at < middleStart {
                        expected = head[at]
                    } else if at - middleEnd < tail.count {
                        expected = tail[at - middleEnd]
                    } else {
                        expected = 0  // past the end: counted as a mismatch
                    }
                    if buffer[i] != expected { mismatches += 1 }
                    i += 1
                }
                position += n
            case .wouldBlock:
                continue
            case .end:
                done = true
            case .abort:
                Issue.record("aborted: \(String(describing: encoder.failure))")
                done = true
            }
        }
        #expect(position == total)
        #expect(mismatches == 0)
        #expect(encoder.maxHeldBytes <= 64 << 10, "held \(encoder.maxHeldBytes)")
        #expect(encoder.bytesOut == total)
    }
}

/// A multipart upload of a text field and a `fileSize`-byte file (byte i is i % 251), made as
/// it is read: nothing of it is held.
final class GeneratedUpload: RequestBodySource {
    private let head = Array(("--XyZ\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nhi\r\n"
        + "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.wav\"\r\n"
        + "Content-Type: audio/wav\r\n\r\n").utf8)
    private let tail = Array("\r\n--XyZ--\r\n".utf8)
    private let fileSize: Int
    private var offset = 0
    private let block: [UInt8] = (0..<(251 * 64)).map { UInt8($0 % 251) }

    init(fileSize: Int) { self.fileSize = fileSize }

    func readBody(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        guard let out = buffer.baseAddress else { return .bytes(0) }
        let total = head.count + fileSize + tail.count
        guard offset < total else { return .end }
        var n = 0
        if offset < head.count {
            n = min(buffer.count, head.count - offset)
            head.withUnsafeBytes { out.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        } else if offset < head.count + fileSize {
            let fileOffset = offset - head.count
            let phase = fileOffset % 251
            n = min(buffer.count, fileSize - fileOffset, block.count - phase)
            block.withUnsafeBytes { out.copyMemory(from: $0.baseAddress! + phase, byteCount: n) }
        } else {
            let tailOffset = offset - head.count - fileSize
            n = min(buffer.count, tail.count - tailOffset)
            tail.withUnsafeBytes { out.copyMemory(from: $0.baseAddress! + tailOffset, byteCount: n) }
        }
        offset += n
        return .bytes(n)
    }

    func bufferedBody() -> [UInt8]? { nil }
}
