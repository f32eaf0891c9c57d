// SPDX-License-Identifier: Apache-2.0
// What MultipartParser makes of a body fed in given pieces, as a comparable value: the events
// with consecutive body bytes joined (so the split cannot show), ended by the error if any.
// Shared by MultipartParserTests and the FuzzMultipart target (a symlink there).
import TollgateCore

enum MultipartTranscript: Equatable, CustomStringConvertible {
    case begin(MultipartPartHeaders)
    case body([UInt8])
    case partEnd
    case end
    case failed(MultipartError)
    /// finish() accepted the body.
    case finished

    var description: String {
        switch self {
        case .begin(let h): "begin(\(h.name), \(h.filename ?? "-"), \(h.contentType ?? "-"))"
        case .body(let b): "body(\(String(decoding: b, as: UTF8.self).debugDescription))"
        case .partEnd: "partEnd"
        case .end: "end"
        case .failed(let e): "failed(\(e))"
        case .finished: "finished"
        }
    }

    /// Feeds `body` cut at `cuts` (ascending offsets); then finish() unless it failed.
    /// Also checks the parser's invariants on every call, reporting a broken one as `why`.
    static func run(boundary: [UInt8], _ body: [UInt8], cuts: [Int]) -> (events: [MultipartTranscript], why: String?) {
        var parser: MultipartParser
        do throws(MultipartError) { parser = try MultipartParser(boundary: boundary) } catch { return ([.failed(error)], nil) }
        var events: [MultipartTranscript] = []
        var why: String?
        var inPart = false
        var ended = false
        var error: MultipartError?
        body.withUnsafeBytes { all in
            var start = 0
            for cut in cuts + [all.count] where cut >= start && cut <= all.count && error == nil {
                do throws(MultipartError) {
                    try parser.feed(UnsafeRawBufferPointer(rebasing: all[start..<cut])) { event in
                        switch event {
                        case .partBegin(let h):
                            if inPart || ended { why = why ?? "partBegin inside a part or after end" }
                            inPart = true
                            events.append(.begin(h))
                        case .body(let bytes):
                            if !inPart { why = why ?? "body outside a part" }
                            if bytes.isEmpty { why = why ?? "empty body event" }
                            if case .body(let before) = events.last {
                                events[events.count - 1] = .body(before + Array(bytes))
                            } else {
                                events.append(.body(Array(bytes)))
                            }
                        case .partEnd:
                            if !inPart { why = why ?? "partEnd outside a part" }
                            inPart = false
                            events.append(.partEnd)
                        case .end:
                            if inPart || ended { why = why ?? "end inside a part or twice" }
                            ended = true
                            events.append(.end)
                        }
                    }
                } catch let e {
                    error = e
                }
                // The bound that keeps memory O(boundary + headers).
                if parser.heldByteCount > MultipartParser.maxHeaderBytes + boundary.count + 4 {
                    why = why ?? "holds \(parser.heldByteCount) bytes"
                }
                start = cut
            }
        }
        if error == nil {
            do throws(MultipartError) { try parser.finish() } catch let e { error = e }
        }
        if let error {
            events.append(.failed(error))
        } else {
            if !ended || !parser.isComplete { why = why ?? "finish() accepted a body without its end" }
            events.append(.finished)
        }
        return (events, why)
    }
}
