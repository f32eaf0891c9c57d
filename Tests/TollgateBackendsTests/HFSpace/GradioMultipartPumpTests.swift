// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateCore
import TollgateUpstream
@testable import TollgateBackends

/// A client body that arrives in pieces, with a pause (`.wouldBlock`) between them.
final class PiecewiseBody: RequestBodySource {
    private var pieces: [[UInt8]]
    private var blocked = false
    private(set) var blocks = 0

    init(_ bytes: [UInt8], pieceSize: Int) {
        pieces = stride(from: 0, to: bytes.count, by: pieceSize).map { Array(bytes[$0..<min($0 + pieceSize, bytes.count)]) }
    }

    func readBody(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        if blocked {
            blocked = false
            blocks += 1
            return .wouldBlock
        }
        guard !pieces.isEmpty else { return .end }
        blocked = true
        var piece = pieces.removeFirst()
        let n = min(piece.count, buffer.count)
        for i in 0..<n { buffer[i] = piece[i] }
        if n < piece.count {
            piece.removeFirst(n)
            pieces.insert(piece, at: 0)
        }
        return .bytes(n)
    }

    func bufferedBody() -> [UInt8]? { nil }
}

struct GradioMultipartPumpTests {
    static let file = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    static var body: [UInt8] {
        Array("--xyz\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nspace-edit\r\n".utf8)
            + Array("--xyz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
            + file
            + Array("\r\n--xyz\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nabc\r\n--xyz--\r\n".utf8)
    }

    /// The upload re-frames the file part as Gradio's `files` part, byte for byte, pulled in
    /// small reads while the client's body arrives in pieces; the pump then goes on with the
    /// next field.
    @Test(arguments: [1, 7, 100, 4096])
    func aFileIsReframedAsItArrives(pieceSize: Int) throws {
        let source = PiecewiseBody(Self.body, pieceSize: pieceSize)
        let pump = try GradioMultipartPump(source: source, boundary: Array("xyz".utf8))
        var steps: [GradioMultipartPump.Step] = []
        func next() -> GradioMultipartPump.Step {
            while true {
                let step = pump.next()
                if step != .wouldBlock { return step }
            }
        }
        // model field
        #expect(next() == .partBegin(MultipartPartHeaders(name: "model")))
        var text: [UInt8] = []
        while case .bytes(let b) = next() { text += b }
        #expect(text == Array("space-edit".utf8))
        guard case .partBegin(let part) = next() else { Issue.record("no file part"); return }
        #expect(part.filename == "a.png")
        let upload = GradioUploadBody(pump: pump, boundary: "B", filename: part.filename, contentType: part.contentType)
        var sent: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 333)
        loop: while true {
            switch buffer.withUnsafeMutableBytes({ upload.read(into: $0) }) {
            case .bytes(let n):
                #expect(n > 0)
                sent += buffer[0..<n]
            case .wouldBlock: continue
            case .end: break loop
            case .abort: Issue.record("aborted: \(upload.failure ?? "")"); return
            }
        }
        let expected = GradioUploadBody.partHead(boundary: "B", filename: "a.png", contentType: "image/png")
            + Self.file + Array("\r\n--B--\r\n".utf8)
        #expect(sent == expected)
        #expect(upload.fileBytes == Self.file.count)
        steps.append(next())
        #expect(steps == [.partBegin(MultipartPartHeaders(name: "prompt"))])
        text = []
        while case .bytes(let b) = next() { text += b }
        #expect(text == Array("abc".utf8))
        #expect(next() == .end)
        #expect(source.blocks > 0)
    }

    @Test func aTruncatedBodyFails() throws {
        let cut = Array(Self.body.prefix(200))
        let pump = try GradioMultipartPump(source: PiecewiseBody(cut, pieceSize: 64), boundary: Array("xyz".utf8))
        var last = GradioMultipartPump.Step.wouldBlock
        for _ in 0..<1000 {
            last = pump.next()
            if case .failed = last { break }
        }
        guard case .failed(let message) = last else { Issue.record("no failure: \(last)"); return }
        #expect(message.contains("malformed multipart"))
    }
}
