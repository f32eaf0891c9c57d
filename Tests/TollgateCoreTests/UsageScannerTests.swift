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
}
