// SPDX-License-Identifier: Apache-2.0
// The SSE relay in whole events: the metering comment before [DONE], the usage event withheld
// when asked, a partial event never half-sent — for every way the stream can be split.
import Testing
@testable import TollgateCore
import TollgateTestSupport

struct SSEEventFramerTests {
    /// Feeds `text` in pieces of `size` bytes; "<C>" marks where the comment would go.
    private func run(_ text: String, size: Int, withholdUsage: Bool = false, finish: Bool = true) -> String {
        var framer = SSEEventFramer()
        framer.withholdUsage = withholdUsage
        var out: [UInt8] = []
        let emit: (SSEEventFramer.Output) -> Void = { piece in
            switch piece {
            case .bytes(let data): out += data
            case .beforeDone: out += Array("<C>".utf8)
            }
        }
        Pieces.feed(Array(text.utf8), size: size) { piece, _ in framer.feed(piece, emit) }
        if finish { framer.finish(emit) }
        return String(decoding: out, as: UTF8.self)
    }

    private static let sizes = [1, 2, 3, 5, 7, 13, 64, 100_000]

    @Test func commentGoesRightBeforeDoneInAnySplit() {
        let text = "data: {\"a\":\"data: [DONE] inside\"}\n\ndata: {\"b\":1}\n\ndata: [DONE]\n\n"
        for size in Self.sizes {
            #expect(run(text, size: size) == "data: {\"a\":\"data: [DONE] inside\"}\n\ndata: {\"b\":1}\n\n<C>data: [DONE]\n\n",
                    "size \(size)")
        }
    }

    @Test func crlfAndCrLineEndsFrameEventsToo() {
        for ending in ["\r\n", "\r"] {
            let text = "data: a" + ending + ending + "data:[DONE]" + ending + ending
            for size in Self.sizes {
                #expect(run(text, size: size) == "data: a" + ending + ending + "<C>data:[DONE]" + ending + ending,
                        "size \(size) ending \(ending.utf8.map { $0 })")
            }
        }
    }

    @Test func usageEventIsWithheldOnlyWhenAsked() {
        let usage = "data: {\"id\":\"c\",\"choices\": [ ],\"usage\" : {\"prompt_tokens\":11}}\r\n\r\n"
        let text = "data: {\"choices\":[{\"delta\":{}}]}\r\n\r\n" + usage + "data: [DONE]\r\n\r\n"
        for size in Self.sizes {
            #expect(run(text, size: size, withholdUsage: true)
                    == "data: {\"choices\":[{\"delta\":{}}]}\r\n\r\n<C>data: [DONE]\r\n\r\n", "size \(size)")
            #expect(run(text, size: size, withholdUsage: false)
                    == "data: {\"choices\":[{\"delta\":{}}]}\r\n\r\n" + usage + "<C>data: [DONE]\r\n\r\n", "size \(size)")
        }
    }

    @Test func aChunkWithContinuousUsageButChoicesIsNotWithheld() {
        let text = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":{\"prompt_tokens\":1}}\n\n"
        #expect(run(text, size: 1000, withholdUsage: true) == text)
    }

    @Test func aPartialEventIsHeldAndCanBeDropped() {
        var framer = SSEEventFramer()
        var out: [UInt8] = []
        let emit: (SSEEventFramer.Output) -> Void = { if case .bytes(let d) = $0 { out += d } }
        Array("data: one\n\ndata: {\"half".utf8).withUnsafeBytes { framer.feed($0, emit) }
        #expect(String(decoding: out, as: UTF8.self) == "data: one\n\n")
        #expect(framer.isAtEventBoundary)
        framer.discardPartialEvent()
        framer.finish(emit)
        #expect(String(decoding: out, as: UTF8.self) == "data: one\n\n")
    }

    @Test func anOversizedEventPassesAsItComes() {
        let big = "data: " + String(repeating: "x", count: SSEEventFramer.maxHeld + 10)
        var framer = SSEEventFramer()
        var out = 0
        let emit: (SSEEventFramer.Output) -> Void = { if case .bytes(let d) = $0 { out += d.count } }
        Array(big.utf8).withUnsafeBytes { framer.feed($0, emit) }
        #expect(out == big.utf8.count)
        #expect(!framer.isAtEventBoundary)
        Array("\n\ndata: [DONE]\n\n".utf8).withUnsafeBytes { framer.feed($0, emit) }
        #expect(framer.isAtEventBoundary && framer.sawDone)
    }

    @Test func aStreamWithoutDoneIsPassedWhole() {
        #expect(run("data: x\n\ndata: [DON", size: 4) == "data: x\n\ndata: [DON")
    }
}
