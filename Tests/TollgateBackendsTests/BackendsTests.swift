// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import TollgateBackends

struct UsageScannerTests {
    @Test func readsUsageAcrossChunkBoundaries() {
        let text = #"data: {"choices":[]}"# + "\n\n" + #"data: {"choices":[],"usage":{"prompt_tokens": 123,"completion_tokens":45,"total_tokens":168}}"# + "\n\ndata: [DONE]\n\n"
        for size in [1, 2, 3, 10, 1000] {
            var scanner = UsageScanner()
            let bytes = Array(text.utf8)
            var i = 0
            while i < bytes.count {
                Array(bytes[i..<min(i + size, bytes.count)]).withUnsafeBytes { scanner.scan($0) }
                i += size
            }
            #expect(scanner.usage == TokenUsage(promptTokens: 123, completionTokens: 45), "size \(size)")
        }
    }

    @Test func noUsageLeavesNil() {
        var scanner = UsageScanner()
        Array(#"{"prompt_tokens_x":"1"}"#.utf8).withUnsafeBytes { scanner.scan($0) }
        #expect(scanner.usage == TokenUsage())
    }
}

struct SimulatedResponsesTests {
    private func call(_ op: APIOperation, stream: Bool) -> BackendCall {
        BackendCall(operation: op, model: "m", upstreamModel: "m", stream: stream, bodyLength: nil, requestID: "r1")
    }

    @Test func chatStreamEndsWithUsageAndDone() {
        let answer = SimulatedResponses.answer(for: call(.chatCompletions, stream: true), requestBody: Array("{}".utf8))
        #expect(answer.contentType == "text/event-stream")
        let text = answer.chunks.map { String(decoding: $0, as: UTF8.self) }.joined()
        #expect(text.hasSuffix("data: [DONE]\n\n"))
        #expect(text.contains("\"usage\":{\"prompt_tokens\":"))
        #expect(answer.chunks.count > 5)
    }

    @Test func embeddingsCountInputs() {
        #expect(SimulatedResponses.inputCount(Array(#"{"input":["a","b,c",["x"]]}"#.utf8)) == 3)
        #expect(SimulatedResponses.inputCount(Array(#"{"input":"one"}"#.utf8)) == 1)
        #expect(SimulatedResponses.inputCount(Array(#"{"input":[]}"#.utf8)) == 0)
    }

    @Test func openAIURLJoinsBaseAndPath() {
        #expect(OpenAIBackendOptions(name: "a", baseURL: "http://h:8000", apiKey: nil).url(for: .chatCompletions) == "http://h:8000/v1/chat/completions")
        #expect(OpenAIBackendOptions(name: "a", baseURL: "https://api.x.com/v1/", apiKey: nil).url(for: .embeddings) == "https://api.x.com/v1/embeddings")
    }
}
