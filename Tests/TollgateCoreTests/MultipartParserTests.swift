// SPDX-License-Identifier: Apache-2.0
// The streaming multipart/form-data parser: parts, fields and files for every way the body can
// be split, memory bounded while a large file streams through, and a typed error for each kind
// of malformed body (RFC 7578, RFC 2046 §5.1.1).
import Testing
@testable import TollgateCore

struct MultipartParserTests {
    private static let boundary = Array("bound42".utf8)

    private func message(_ text: String) -> [UInt8] {
        Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)
    }

    private func parse(_ body: [UInt8], cuts: [Int] = [], boundary: [UInt8] = boundary) -> [MultipartTranscript] {
        let (events, why) = MultipartTranscript.run(boundary: boundary, body, cuts: cuts)
        #expect(why == nil, "invariant: \(why ?? "")")
        return events
    }

    private func body(_ s: String) -> MultipartTranscript { .body(Array(s.utf8)) }

    private var formWithFile: [UInt8] {
        message("""
            --bound42
            Content-Disposition: form-data; name="model"

            whisper-1
            --bound42
            content-disposition: form-data; name="file"; filename="a b \\"c\\".wav"
            Content-Type: audio/wav

            RIFF\u{0}\u{1}--bound4
            --bound42
            Content-Disposition: form-data; name=language

            en
            --bound42--

            """)
    }

    @Test func fieldsAndAFile() {
        #expect(parse(formWithFile) == [
            .begin(MultipartPartHeaders(name: "model")), body("whisper-1"), .partEnd,
            .begin(MultipartPartHeaders(name: "file", filename: "a b \"c\".wav", contentType: "audio/wav")),
            body("RIFF\u{0}\u{1}--bound4"), .partEnd,
            .begin(MultipartPartHeaders(name: "language")), body("en"), .partEnd,
            .end, .finished,
        ])
    }

    @Test func everySplitGivesTheSameEvents() {
        let samples = [
            formWithFile,
            message("preamble\n--bound42 \t\nContent-Disposition: form-data; name=\"x\"\n\n\r\n--bound4\r\n--bound42x\n--bound42-y\n--bound42--\n"),
            message("--bound42\nContent-Disposition: form-data; name=\"e\"\n\n\n--bound42--"),
        ]
        for sample in samples {
            let whole = parse(sample)
            #expect(whole.last == .finished)
            #expect(parse(sample, cuts: Array(1..<sample.count)) == whole, "byte by byte")
            for cut in 0...sample.count {
                #expect(parse(sample, cuts: [cut]) == whole, "cut at \(cut)")
            }
        }
    }

    @Test func boundaryLikeBytesInsideAFileAreData() {
        let tricky = [
            "\r\n--bound", "\r\n--bound4x", "\r\n--bound42x", "\r\n--bound42-", "\r\n--bound42-x",
            "--bound42", "\r--bound42", "\n--bound42", "\r\r\n-", "\r\n\r\n--", "\r\n--bound4\r\n--bound4",
        ]
        for data in tricky {
            // "\r\n--bound42-" is data only when another byte that is not "-" follows.
            let content = data + "Z"
            let text = "--bound42\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n"
                + content + "\r\n--bound42--\r\n"
            let bytes = Array(text.utf8)
            let expected: [MultipartTranscript] = [
                .begin(MultipartPartHeaders(name: "f", filename: "x")), body(content), .partEnd, .end, .finished,
            ]
            #expect(parse(bytes) == expected, "\(content.debugDescription)")
            #expect(parse(bytes, cuts: Array(1..<bytes.count)) == expected, "\(content.debugDescription) byte by byte")
        }
    }

    @Test func preambleIsDroppedAndOnlyWhitespaceMayFollowTheEnd() {
        let ok = message("This is the preamble.\n--bound42\nContent-Disposition: form-data; name=\"a\"\n\n1\n--bound42--  \n\n")
        #expect(parse(ok) == [.begin(MultipartPartHeaders(name: "a")), body("1"), .partEnd, .end, .finished])
        let epilogue = message("--bound42\nContent-Disposition: form-data; name=\"a\"\n\n1\n--bound42--\nepilogue")
        #expect(parse(epilogue).last == .failed(.trailingData))
        let tooMuchSpace = Array("--bound42--".utf8) + Array(repeating: 0x20, count: MultipartParser.maxPadding + 1)
        #expect(parse(tooMuchSpace).last == .failed(.trailingData))
        let hugePreamble = Array(repeating: UInt8(ascii: "p"), count: MultipartParser.maxPreambleBytes + 1)
            + message("\n--bound42--\n")
        #expect(parse(hugePreamble).last == .failed(.preambleTooLarge))
        // No parts at all: an empty form.
        #expect(parse(message("--bound42--\n")) == [.end, .finished])
    }

    @Test func fiftyMegabyteFileStreamsWithABoundedHold() throws {
        let size = 50 << 20
        let chunk = 64 << 10
        // A chunk of file data full of near-delimiters, some cut by the 64 KiB chunking.
        var pattern = Array("\r\n--bound4".utf8) + Array(repeating: UInt8(ascii: "a"), count: 1000) + Array("\r\n--bound42X".utf8)
        while pattern.count < chunk { pattern.append(UInt8(truncatingIfNeeded: pattern.count * 7)) }
        pattern[chunk - 3] = 0x0D; pattern[chunk - 2] = 0x0A; pattern[chunk - 1] = UInt8(ascii: "-")
        pattern = Array(pattern.prefix(chunk))
        var parser = try MultipartParser(boundary: Self.boundary)
        var received = 0
        var sumIn: UInt64 = 0
        var sumOut: UInt64 = 0
        var events: [String] = []
        var maxHeld = 0
        let emit: (MultipartParser.Event) -> Void = { event in
            switch event {
            case .partBegin(let h): events.append("begin \(h.name)")
            case .body(let b):
                received += b.count
                for x in b { sumOut = sumOut &* 31 &+ UInt64(x) }
            case .partEnd: events.append("partEnd")
            case .end: events.append("end")
            }
        }
        let head = message("--bound42\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\n\n")
        try head.withUnsafeBytes { try parser.feed($0, emit) }
        for _ in 0..<(size / chunk) {
            for x in pattern { sumIn = sumIn &* 31 &+ UInt64(x) }
            try pattern.withUnsafeBytes { try parser.feed($0, emit) }
            maxHeld = max(maxHeld, parser.heldByteCount)
        }
        try message("\n--bound42--\n").withUnsafeBytes { try parser.feed($0, emit) }
        try parser.finish()
        #expect(received == size)
        #expect(sumOut == sumIn)
        #expect(events == ["begin file", "partEnd", "end"])
        #expect(maxHeld <= Self.boundary.count + 4)
        #expect(maxHeld > 0)  // the chunk's tail "\r\n-" was held, not handed on
    }

    @Test func malformedBodiesGetTypedErrors() {
        let cd = "Content-Disposition: form-data; name=\"a\"\n"
        let cases: [(String, [UInt8], MultipartError)] = [
            ("truncated in a part", message("--bound42\n\(cd)\nabc"), .truncated),
            ("truncated in a delimiter", message("--bound42\n\(cd)\nabc\n--bou"), .truncated),
            ("truncated in headers", message("--bound42\n\(cd)"), .truncated),
            ("empty body", [], .truncated),
            ("no Content-Disposition", message("--bound42\nContent-Type: text/plain\n\nx\n--bound42--"), .missingContentDisposition),
            ("no headers", message("--bound42\n\nx\n--bound42--"), .missingContentDisposition),
            ("no name", message("--bound42\nContent-Disposition: form-data; filename=\"a\"\n\nx\n--bound42--"), .missingName),
            ("not form-data", message("--bound42\nContent-Disposition: attachment; name=\"a\"\n\nx\n--bound42--"), .invalidContentDisposition),
            ("two names", message("--bound42\nContent-Disposition: form-data; name=a; name=b\n\nx\n--bound42--"), .invalidContentDisposition),
            ("unclosed quote", message("--bound42\nContent-Disposition: form-data; name=\"a\n\nx\n--bound42--"), .invalidContentDisposition),
            ("bare LF header", Array("--bound42\r\nContent-Disposition: form-data; name=a\n\r\nx\r\n--bound42--".utf8), .headerLineWithoutCRLF),
            ("bare CR header", Array("--bound42\r\nContent-Disposition: form-data; name=a\rX\r\n\r\nx\r\n--bound42--".utf8), .headerLineWithoutCRLF),
            ("folded header", message("--bound42\n\(cd) folded\n\nx\n--bound42--"), .invalidHeaderLine),
            ("no colon", message("--bound42\n\(cd)Bogus\n\nx\n--bound42--"), .invalidHeaderLine),
            ("junk on delimiter line", message("--bound42  junk\n\(cd)\nx\n--bound42--"), .invalidDelimiterLine),
            ("CR without LF on delimiter line", Array("--bound42\rX".utf8), .invalidDelimiterLine),
            ("bytes after close", message("--bound42\n\(cd)\nx\n--bound42--junk"), .trailingData),
        ]
        for (label, bytes, error) in cases {
            #expect(parse(bytes).last == .failed(error), "\(label)")
            #expect(parse(bytes, cuts: Array(0..<bytes.count)).last == .failed(error), "\(label), byte by byte")
        }
    }

    @Test func headerAndPartCountsAreBounded() {
        let big = "--bound42\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: "
            + String(repeating: "p", count: MultipartParser.maxHeaderBytes) + "\r\n\r\nx\r\n--bound42--"
        #expect(parse(Array(big.utf8)).last == .failed(.headersTooLarge))
        let part = "--bound42\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n"
        let atLimit = String(repeating: part, count: MultipartParser.maxParts) + "--bound42--"
        #expect(parse(Array(atLimit.utf8)).last == .finished)
        let overLimit = String(repeating: part, count: MultipartParser.maxParts + 1) + "--bound42--"
        #expect(parse(Array(overLimit.utf8)).last == .failed(.tooManyParts))
    }

    @Test func aFailedParserStaysFailed() throws {
        var parser = try MultipartParser(boundary: Self.boundary)
        let bad = Array("--bound42\r\n\r\n".utf8)
        #expect(throws: MultipartError.missingContentDisposition) {
            try bad.withUnsafeBytes { try parser.feed($0) { _ in } }
        }
        #expect(throws: MultipartError.missingContentDisposition) {
            try Array("--bound42--".utf8).withUnsafeBytes { try parser.feed($0) { _ in } }
        }
        #expect(throws: MultipartError.missingContentDisposition) { try parser.finish() }
    }

    @Test func boundaryFromContentType() throws {
        #expect(try MultipartBoundary.fromContentType("multipart/form-data; boundary=abc") == Array("abc".utf8))
        #expect(try MultipartBoundary.fromContentType("Multipart/Form-Data;charset=utf-8;  BOUNDARY=\"a b:c?\"") == Array("a b:c?".utf8))
        #expect(try MultipartBoundary.fromContentType("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW")
                == Array("----WebKitFormBoundary7MA4YWxkTrZu0gW".utf8))
        let seventy = String(repeating: "x", count: 70)
        #expect(try MultipartBoundary.fromContentType("multipart/form-data; boundary=\(seventy)") == Array(seventy.utf8))
        let refused: [(String, MultipartError)] = [
            ("multipart/form-data", .missingBoundary),
            ("multipart/form-data; charset=utf-8", .missingBoundary),
            ("application/json", .notMultipartFormData),
            ("multipart/mixed; boundary=abc", .notMultipartFormData),
            ("", .notMultipartFormData),
            ("multipart/form-data; boundary=\(seventy)x", .invalidBoundary),
            ("multipart/form-data; boundary=\"\"", .invalidBoundary),
            ("multipart/form-data; boundary=\"ab \"", .invalidBoundary),
            ("multipart/form-data; boundary=\"a\rb\"", .invalidBoundary),
            ("multipart/form-data; boundary=\"a\"b\"", .invalidBoundary),
            ("multipart/form-data; boundary=a; boundary=b", .invalidBoundary),
            ("multipart/form-data; boundary=a@b", .invalidBoundary),
            ("multipart/form-data; boundary=\"unclosed", .invalidBoundary),
        ]
        for (value, error) in refused {
            #expect(throws: error, "\(value.debugDescription)") { try MultipartBoundary.fromContentType(value) }
        }
        // A quoted-pair stands for the character itself (RFC 9110 §5.6.4).
        #expect(try MultipartBoundary.fromContentType("multipart/form-data; boundary=\"a\\rb\"") == Array("arb".utf8))
        #expect(throws: MultipartError.invalidBoundary) { try MultipartParser(boundary: Array("a\r\nb".utf8)) }
        #expect(throws: MultipartError.invalidBoundary) { try MultipartParser(boundary: []) }
    }
}
