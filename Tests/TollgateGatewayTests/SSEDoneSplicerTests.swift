// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import TollgateGateway

struct SSEDoneSplicerTests {
    /// Feeds `text` in pieces and returns (bytes before the marker, bytes from the marker on).
    private func run(_ text: String, pieces: Int) -> (String, String?) {
        var splicer = SSEDoneSplicer()
        let bytes = Array(text.utf8)
        var before: [UInt8] = [], rest: [UInt8]? = nil
        var i = 0
        while i < bytes.count {
            let piece = Array(bytes[i..<min(i + pieces, bytes.count)])
            let out = piece.withUnsafeBytes { splicer.feed($0) }
            if rest == nil {
                before += out.before
                if let r = out.rest { rest = r }
            } else {
                rest! += out.before
            }
            i += pieces
        }
        let tail = splicer.flush()
        if rest == nil { before += tail } else { rest! += tail }
        return (String(decoding: before, as: UTF8.self), rest.map { String(decoding: $0, as: UTF8.self) })
    }

    @Test func findsDoneAtALineStartInAnySplit() {
        let text = "data: {\"a\":\"data: [DONE] inside\"}\n\ndata: {\"b\":1}\n\ndata: [DONE]\n\n"
        for pieces in [1, 2, 5, 13, 1000] {
            let (before, rest) = run(text, pieces: pieces)
            #expect(before == "data: {\"a\":\"data: [DONE] inside\"}\n\ndata: {\"b\":1}\n\n", "pieces \(pieces)")
            #expect(rest == "data: [DONE]\n\n", "pieces \(pieces)")
        }
    }

    @Test func streamWithoutDoneIsPassedWhole() {
        let (before, rest) = run("data: x\n\ndata: [DON", pieces: 4)
        #expect(before == "data: x\n\ndata: [DON")
        #expect(rest == nil)
    }
}
