// SPDX-License-Identifier: Apache-2.0
// Pulls a client's multipart body through MultipartParser one step at a time, so the hf_space
// call can hold text fields and hand each file on to its `/upload` request as the bytes arrive
// (the call needs every field before it can POST `/call`, but never a whole upload). The
// parser hands out slices valid only during its callback; one chunk read from the client
// (≤ `chunkSize`) is parsed at a time and its events are kept, owned, until taken, so the
// memory held is about one chunk whatever the upload's size.
import TollgateCore

final class GradioMultipartPump {
    enum Step: Equatable {
        /// A part begins.
        case partBegin(MultipartPartHeaders)
        /// The current part's next bytes.
        case bytes([UInt8])
        /// The current part ended.
        case partEnd
        /// The body ended after its close delimiter.
        case end
        /// Nothing until the client sends more (`RequestBodySource` said `.wouldBlock`).
        case wouldBlock
        /// The body cannot be read: the client went away, or it is not valid multipart.
        case failed(String)
    }

    static let chunkSize = 64 << 10

    private let source: any RequestBodySource
    private var parser: MultipartParser
    private var pending = FIFOQueue<Step>()
    private var scratch: [UInt8]
    private var finished = false
    private var failure: String?

    init(source: any RequestBodySource, boundary: [UInt8]) throws(MultipartError) {
        self.source = source
        parser = try MultipartParser(boundary: boundary)
        scratch = [UInt8](repeating: 0, count: Self.chunkSize)
    }

    /// The next step of the body.
    func next() -> Step {
        while true {
            if let step = pending.popFirst() { return step }
            if let failure { return .failed(failure) }
            if finished { return .end }
            let chunk = scratch.withUnsafeMutableBytes { source.readBody(into: $0) }
            switch chunk {
            case .wouldBlock:
                return .wouldBlock
            case .abort:
                failure = "the client's body ended early"
            case .end:
                do throws(MultipartError) {
                    try parser.finish()
                    finished = true
                } catch {
                    failure = "malformed multipart body: \(error)"
                }
            case .bytes(let count):
                let n = min(max(count, 0), scratch.count)
                let error: MultipartError? = scratch.withUnsafeBytes { all in
                    do throws(MultipartError) {
                        try parser.feed(UnsafeRawBufferPointer(rebasing: all[0..<n])) { event in
                            switch event {
                            case .partBegin(let headers): pending.append(.partBegin(headers))
                            case .body(let bytes): pending.append(.bytes(Array(bytes)))
                            case .partEnd: pending.append(.partEnd)
                            // `finish` decides the end: the close delimiter may be followed by
                            // whitespace the parser still has to see.
                            case .end: break
                            }
                        }
                        return nil
                    } catch {
                        return error
                    }
                }
                if let error { failure = "malformed multipart body: \(error)" }
            }
        }
    }
}
