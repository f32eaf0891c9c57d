// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateCore
@testable import TollgateBackends

struct SimulatedResponsesTests {
    private func call(_ op: APIOperation, stream: Bool) -> BackendCall {
        BackendCall(operation: op, model: "m", upstreamModel: "m", stream: stream, bodyLength: nil, requestID: RequestID(prefix: 1, counter: 1))
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
        #expect(OpenAIBackendOptions(endpoint: BackendEndpoint(name: "a", baseURL: "http://h:8000", apiKey: nil)).url(for: .chatCompletions) == "http://h:8000/v1/chat/completions")
        #expect(OpenAIBackendOptions(endpoint: BackendEndpoint(name: "a", baseURL: "https://api.x.com/v1/", apiKey: nil)).url(for: .embeddings) == "https://api.x.com/v1/embeddings")
    }
}
