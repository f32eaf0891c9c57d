// SPDX-License-Identifier: Apache-2.0
// The usage object of a streamed answer, found however the stream is cut.
import Testing
@testable import TollgateCore
import TollgateTestSupport

struct UsageScannerTests {
    @Test func readsUsageAcrossChunkBoundaries() {
        let text = #"data: {"choices":[]}"# + "\n\n" + #"data: {"choices":[],"usage":{"prompt_tokens": 123,"completion_tokens":45,"total_tokens":168}}"# + "\n\ndata: [DONE]\n\n"
        for size in [1, 2, 3, 10, 1000] {
            var scanner = UsageScanner()
            Pieces.feed(Array(text.utf8), size: size) { piece, _ in scanner.scan(piece) }
            #expect(scanner.usage == TokenUsage(promptTokens: 123, completionTokens: 45), "size \(size)")
        }
    }

    @Test func noUsageLeavesNil() {
        var scanner = UsageScanner()
        Array(#"{"prompt_tokens_x":"1"}"#.utf8).withUnsafeBytes { scanner.scan($0) }
        #expect(scanner.usage == TokenUsage())
    }

    /// A reply as a non-streaming server sends it: `usage` once, after the text.
    private static let reply = #"{"id":"x","choices":[{"message":{"role":"assistant","content":"the \"usage\" of \"prompt_tokens\":5"}}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}"#

    @Test func findsUsageWhereverThePiecesAreCut() {
        let bytes = Array(Self.reply.utf8)
        // Every cut into two pieces, so `"usage"` itself is split at each of its bytes.
        for cut in 0...bytes.count {
            var scanner = UsageScanner()
            bytes[..<cut].withUnsafeBytes { scanner.scan($0) }
            bytes[cut...].withUnsafeBytes { scanner.scan($0) }
            #expect(scanner.usage == TokenUsage(promptTokens: 9, completionTokens: 7), "cut \(cut)")
        }
    }

    @Test func tokenNamesBeforeUsageAreSkipped() {
        // Only what follows the first `"usage"` is read: names in the choices do not count.
        var scanner = UsageScanner()
        Array(#"{"choices":[{"x":{"prompt_tokens":1,"completion_tokens":2}}],"usage":{"completion_tokens":3}}"#.utf8)
            .withUnsafeBytes { scanner.scan($0) }
        #expect(scanner.usage == TokenUsage(promptTokens: nil, completionTokens: 3))
    }

    @Test func aBrokenUsageKeyIsNoKey() {
        // `"usag` at one piece's end, something else at the next one's start, the real key later.
        var scanner = UsageScanner()
        for piece in [#"{"a":"usag"#, #"x","usa"#, #"gx":1,"completion_tokens":2,"u"#, #"sage":{"prompt_tokens":4}}"#] {
            Array(piece.utf8).withUnsafeBytes { scanner.scan($0) }
        }
        #expect(scanner.usage == TokenUsage(promptTokens: 4, completionTokens: nil))
        var none = UsageScanner()
        Array(#"{"usagex":{"prompt_tokens":4}, "usag":{"prompt_tokens":5}}"#.utf8).withUnsafeBytes { none.scan($0) }
        #expect(none.usage == TokenUsage())
    }

    @Test func wordSearchFindsTheFirstKeyAtEveryOffset() {
        for offset in 0..<20 {
            for tail in 0..<10 {
                let bytes = Array(String(repeating: "\"", count: offset).utf8) + Array(#""usage""#.utf8) + Array(String(repeating: "u", count: tail).utf8)
                let found = bytes.withUnsafeBytes { UsageScanner.firstUsage($0.baseAddress!, $0.count) }
                #expect(found == offset, "offset \(offset) tail \(tail)")
                let cut = bytes.dropLast(tail + 1)
                let missing = Array(cut).withUnsafeBytes { UsageScanner.firstUsage($0.baseAddress!, $0.count) }
                #expect(missing == nil)
            }
        }
    }
}
