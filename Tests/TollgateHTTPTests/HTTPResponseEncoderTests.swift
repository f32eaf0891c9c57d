// SPDX-License-Identifier: Apache-2.0
// The bytes of a response, exactly, for each framing: declared length, chunked, HEAD, 204 and
// 304 without a body, close-delimited for HTTP/1.0, and the server's own error answers.
import Testing
@testable import TollgateHTTP
@testable import TollgateCore

struct HTTPResponseEncoderTests {
    private static let date = Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8)
    private static let id = RequestID(prefix: 0xAB, counter: 1)
    private static let idText = "00000000000000ab00000001"

    /// A parsed request head, for the framing it asks for and the id it may carry.
    private static func request(_ text: String) throws -> HTTPRequestHead {
        var parser = HTTPRequestParser()
        let bytes = Array(text.utf8)
        let (event, _) = try bytes.withUnsafeBytes { try parser.next($0) }
        guard case .head(let head) = event else { throw ParseFailure() }
        return head
    }
    private struct ParseFailure: Error {}

    private static func head(status: Int = 200, contentType: String? = "text/plain", length: Int?, minorVersion: Int = 1,
                             isHEAD: Bool = false, keepAlive: Bool = true, echoing: HTTPRequestHead? = nil,
                             headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponseHead {
        HTTPResponseHead(status: status, contentType: contentType, length: length, minorVersion: minorVersion, isHEAD: isHEAD,
                         keepAlive: keepAlive, requestID: id, echoing: echoing, headers: headers)
    }

    /// Writes `head`, then each body piece, then the end; returns the bytes and the encoder.
    private static func encode(_ head: HTTPResponseHead, body: [String] = []) -> (text: String, encoder: HTTPResponseEncoder) {
        var encoder = HTTPResponseEncoder()
        var output = ByteBuffer()
        let headBytes = encoder.writeHead(head, date: date, into: &output)
        #expect(headBytes == output.readableCount)
        for piece in body {
            var copy = piece
            _ = copy.withUTF8 { encoder.writeBody(UnsafeRawBufferPointer($0), into: &output) }
        }
        let before = output.readableCount
        #expect(encoder.writeEnd(into: &output) == output.readableCount - before)
        return (String(decoding: output.readable, as: UTF8.self), encoder)
    }

    private static func prefix(_ status: String) -> String {
        "HTTP/1.1 \(status)\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    }

    @Test func declaredLength() {
        let (text, encoder) = Self.encode(Self.head(length: 5), body: ["hel", "lo"])
        #expect(text == Self.prefix("200 OK") + "content-type: text/plain\r\ncontent-length: 5\r\nx-request-id: \(Self.idText)\r\n\r\nhello")
        #expect(encoder.framing == .length)
        #expect(encoder.isDeclaredBodyComplete)
    }

    @Test func declaredLengthIsCompleteOnlyAtItsLastByte() {
        var encoder = HTTPResponseEncoder()
        var output = ByteBuffer()
        encoder.writeHead(Self.head(length: 2), date: Self.date, into: &output)
        #expect(!encoder.isDeclaredBodyComplete)
        _ = Array("a".utf8).withUnsafeBytes { encoder.writeBody($0, into: &output) }
        #expect(!encoder.isDeclaredBodyComplete && encoder.bodyRemaining == 1)
        _ = Array("b".utf8).withUnsafeBytes { encoder.writeBody($0, into: &output) }
        #expect(encoder.isDeclaredBodyComplete)
    }

    @Test func chunkedForAStreamedBody() {
        let sixteen = String(repeating: "x", count: 16)
        let (text, encoder) = Self.encode(Self.head(contentType: "text/event-stream", length: nil), body: ["hello", "", sixteen])
        #expect(text == Self.prefix("200 OK") + "content-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
                + "x-request-id: \(Self.idText)\r\n\r\n5\r\nhello\r\n10\r\n\(sixteen)\r\n0\r\n\r\n")
        #expect(encoder.framing == .chunked)
    }

    @Test func anEmptyPieceOfAChunkedBodyWritesNothing() {
        var encoder = HTTPResponseEncoder()
        var output = ByteBuffer()
        encoder.writeHead(Self.head(length: nil), date: Self.date, into: &output)
        let before = output.readableCount
        // A zero-size chunk would end the body.
        #expect(!encoder.writeBody(UnsafeRawBufferPointer(start: nil, count: 0), into: &output))
        #expect(output.readableCount == before)
    }

    @Test func headDeclaresTheLengthButSendsNoBody() {
        let (text, encoder) = Self.encode(Self.head(length: 6, isHEAD: true), body: ["hello "])
        #expect(text == Self.prefix("200 OK") + "content-type: text/plain\r\ncontent-length: 6\r\nx-request-id: \(Self.idText)\r\n\r\n")
        #expect(encoder.framing == .none)
    }

    @Test func headOfAStreamedAnswerSendsNoChunks() {
        let (text, _) = Self.encode(Self.head(length: nil, isHEAD: true), body: ["data"])
        #expect(text == Self.prefix("200 OK") + "content-type: text/plain\r\ntransfer-encoding: chunked\r\nx-request-id: \(Self.idText)\r\n\r\n")
    }

    @Test(arguments: [(204, "204 No Content"), (304, "304 Not Modified")])
    func noContentAndNotModifiedCarryNoFramingAndNoBody(_ status: Int, _ line: String) {
        for length in [nil, 5] as [Int?] {
            let (text, encoder) = Self.encode(Self.head(status: status, contentType: nil, length: length), body: ["hello"])
            #expect(text == Self.prefix(line) + "x-request-id: \(Self.idText)\r\n\r\n", "length \(String(describing: length))")
            #expect(encoder.framing == .none)
        }
    }

    @Test func closeIsSaid() {
        let (text, _) = Self.encode(Self.head(length: 2, keepAlive: false), body: ["ok"])
        #expect(text == Self.prefix("200 OK") + "content-type: text/plain\r\ncontent-length: 2\r\nx-request-id: \(Self.idText)\r\nconnection: close\r\n\r\nok")
    }

    @Test func http10KeepAliveIsSaid() {
        let (text, _) = Self.encode(Self.head(length: 2, minorVersion: 0), body: ["ok"])
        #expect(text == Self.prefix("200 OK") + "content-type: text/plain\r\ncontent-length: 2\r\nx-request-id: \(Self.idText)\r\nconnection: keep-alive\r\n\r\nok")
    }

    @Test func http10StreamedBodyIsCloseDelimited() {
        let head = Self.head(length: nil, minorVersion: 0, keepAlive: false)
        #expect(head.framing == .closeDelimited)
        let (text, encoder) = Self.encode(head, body: ["raw ", "bytes"])
        #expect(text == Self.prefix("200 OK") + "content-type: text/plain\r\nx-request-id: \(Self.idText)\r\nconnection: close\r\n\r\nraw bytes")
        #expect(encoder.framing == .closeDelimited)
    }

    @Test func framingFollowsStatusMethodLengthAndVersion() {
        #expect(Self.head(length: 0).framing == .length)
        #expect(Self.head(length: nil).framing == .chunked)
        #expect(Self.head(length: nil, minorVersion: 0).framing == .closeDelimited)
        #expect(Self.head(length: 3, isHEAD: true).framing == .none)
        #expect(Self.head(status: 204, length: nil).framing == .none)
        #expect(Self.head(status: 304, length: 3).framing == .none)
        #expect(Self.head(status: 205, length: nil).framing == .chunked)
    }

    @Test func theClientsRequestIDIsEchoedWhenPrintableAndShort() throws {
        let good = try Self.request("GET / HTTP/1.1\r\nHost: t\r\nX-Request-ID: client-42\r\n\r\n")
        #expect(Self.encode(Self.head(length: 0, echoing: good)).text.contains("\r\nx-request-id: client-42\r\n"))
        let long = try Self.request("GET / HTTP/1.1\r\nHost: t\r\nX-Request-ID: \(String(repeating: "a", count: 129))\r\n\r\n")
        #expect(Self.encode(Self.head(length: 0, echoing: long)).text.contains("\r\nx-request-id: \(Self.idText)\r\n"))
        let spaced = try Self.request("GET / HTTP/1.1\r\nHost: t\r\nX-Request-ID: a b\r\n\r\n")
        #expect(Self.encode(Self.head(length: 0, echoing: spaced)).text.contains("\r\nx-request-id: \(Self.idText)\r\n"))
        let none = try Self.request("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(Self.encode(Self.head(length: 0, echoing: none)).text.contains("\r\nx-request-id: \(Self.idText)\r\n"))
    }

    @Test func theRespondersFieldsFollowTheServersInOrder() {
        let headers = HTTPHeaders([("openai-model", "m"), ("x-bad", "a\r\nset-cookie: b")])
        let (text, _) = Self.encode(Self.head(length: 0, keepAlive: false, headers: headers))
        #expect(text == Self.prefix("200 OK") + "content-type: text/plain\r\ncontent-length: 0\r\nx-request-id: \(Self.idText)\r\n"
                + "openai-model: m\r\nx-bad: a set-cookie: b\r\nconnection: close\r\n\r\n")
    }

    @Test func errorAnswerIsWholeAndCloses() {
        var output = ByteBuffer()
        let body = #"{"error":{"message":"m","type":"invalid_request_error","param":null,"code":"bad_request"}}"#
        let written = HTTPResponseEncoder.writeErrorAnswer(status: 400, body: body, requestID: Self.id, date: Self.date, into: &output)
        let text = String(decoding: output.readable, as: UTF8.self)
        #expect(text == Self.prefix("400 Bad Request") + "content-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n"
                + "x-request-id: \(Self.idText)\r\nconnection: close\r\n\r\n" + body)
        #expect(written == output.readableCount)
    }

    @Test func overLimitAnswerHasNoDateAndSaysWhenToRetry() {
        var output = ByteBuffer()
        HTTPResponseEncoder.writeErrorAnswer(status: 503, body: "{}", requestID: Self.id, date: nil,
                                             headers: HTTPHeaders([("retry-after", "1")]), into: &output)
        #expect(String(decoding: output.readable, as: UTF8.self) == "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
                + "content-length: 2\r\nx-request-id: \(Self.idText)\r\nretry-after: 1\r\nconnection: close\r\n\r\n{}")
    }

    @Test func continueIsOneInterimLine() {
        var output = ByteBuffer()
        HTTPResponseEncoder.writeContinue(into: &output)
        #expect(String(decoding: output.readable, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
    }
}

/// The request id's branch-free hex digits agree with the standard library's, in the header
/// bytes and in `description`.
@Test func requestIDHexMatchesTheStandardLibrary() {
    var generator = SplitMix64(seed: 0x5EED)
    var samples: [(UInt64, UInt32)] = [(0, 0), (.max, .max), (0x0123_4567_89AB_CDEF, 0x9ABC_DEF0), (0xA, 0xF0)]
    for _ in 0..<1000 { samples.append((generator.next(), UInt32(truncatingIfNeeded: generator.next()))) }
    for (prefix, counter) in samples {
        let id = RequestID(prefix: prefix, counter: counter)
        func padded(_ text: String, _ width: Int) -> String { String(repeating: "0", count: width - text.count) + text }
        let expected = padded(String(prefix, radix: 16), 16) + padded(String(counter, radix: 16), 8)
        #expect(id.description == expected)
        var bytes = [UInt8](repeating: 0, count: 26)
        bytes.withUnsafeMutableBytes { id.writeHex(to: $0.baseAddress! + 1) }
        #expect(String(decoding: bytes[1..<25], as: UTF8.self) == expected && bytes[0] == 0 && bytes[25] == 0)
    }
}
