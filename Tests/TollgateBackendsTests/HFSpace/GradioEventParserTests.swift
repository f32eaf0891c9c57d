// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import TollgateBackends

struct GradioEventParserTests {
    /// Gradio's stream for a generator (routes.py process_msg), as recorded from gradio 6.31.
    static let stream = Array((
        "event: generating\ndata: [\"step 0\"]\n\n" +
        "event: heartbeat\ndata: null\n\n" +
        "event: generating\ndata: [\"step 1\"]\n\n" +
        "event: complete\ndata: [\"step 1\"]\n\n").utf8)

    static func parse(_ bytes: [UInt8], splitAt cuts: [Int], max: Int = 1 << 20) throws -> [GradioEvent] {
        var parser = GradioEventParser(maxEventBytes: max)
        var events: [GradioEvent] = []
        var start = 0
        for cut in cuts + [bytes.count] where cut >= start {
            events += try bytes[start..<cut].withUnsafeBytes { try parser.feed($0) }
            start = cut
        }
        return events
    }

    @Test func readsGradiosEventsWhereverTheStreamIsSplit() throws {
        let expected = [
            GradioEvent(name: "generating", data: Array("[\"step 0\"]".utf8)),
            GradioEvent(name: "heartbeat", data: Array("null".utf8)),
            GradioEvent(name: "generating", data: Array("[\"step 1\"]".utf8)),
            GradioEvent(name: "complete", data: Array("[\"step 1\"]".utf8)),
        ]
        #expect(try Self.parse(Self.stream, splitAt: []) == expected)
        for cut in 0...Self.stream.count {
            #expect(try Self.parse(Self.stream, splitAt: [cut]) == expected, "split at \(cut)")
        }
        // Byte by byte.
        #expect(try Self.parse(Self.stream, splitAt: Array(0..<Self.stream.count)) == expected)
    }

    @Test func followsTheStandardsLineRules() throws {
        // CRLF and CR line ends (a CRLF split across chunks is one line end), a comment, two
        // data lines joined with LF, no space after the colon, an event without data.
        let text = Array(": hi\r\nevent:complete\r\ndata: [1,\r\ndata:2]\r\n\r\nevent: x\r\rdata: z\r\r".utf8)
        let expected = [GradioEvent(name: "complete", data: Array("[1,\n2]".utf8)), GradioEvent(name: "message", data: Array("z".utf8))]
        for cut in 0...text.count {
            #expect(try Self.parse(text, splitAt: [cut]) == expected, "split at \(cut)")
        }
    }

    @Test func refusesAnEventLargerThanTheBound() {
        let big = Array(("event: complete\ndata: \"" + String(repeating: "a", count: 100) + "\"\n\n").utf8)
        #expect(throws: GradioEventParser.Failure.eventTooLarge) { try Self.parse(big, splitAt: [7, 50], max: 64) }
        #expect((try? Self.parse(big, splitAt: [], max: 200))?.count == 1)
    }
}
