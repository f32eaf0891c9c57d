// SPDX-License-Identifier: Apache-2.0
// The bodies a simulated backend answers with: OpenAI-shaped and valid for the SDKs.
public import TollgateCore

public struct SimulatedAnswer {
    public var contentType: String
    /// One element per write; a stream sends them apart by the stream interval.
    public var chunks: [[UInt8]]
    public var usage: TokenUsage
}

public enum SimulatedResponses {
    static let onePixelPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    static let words = ["This", " is", " a", " simulated", " reply", " from", " Tollgate", "."]

    public static func answer(for call: BackendCall, requestBody: [UInt8]) -> SimulatedAnswer {
        let promptTokens = max(1, requestBody.count / 4)
        let id = "sim-\(call.requestID)"
        let created = 1_700_000_000
        let model = JSONText.quoted(call.model)
        switch call.operation {
        case .embeddings:
            let count = max(1, inputCount(requestBody))
            var items: [String] = []
            for i in 0..<count {
                let vector = (0..<8).map { j in String(Double((i * 31 + j * 17) % 200 - 100) / 100) }
                items.append(#"{"object":"embedding","index":\#(i),"embedding":[\#(vector.joined(separator: ","))]}"#)
            }
            let body = #"{"object":"list","data":[\#(items.joined(separator: ","))],"model":\#(model),"usage":{"prompt_tokens":\#(promptTokens),"total_tokens":\#(promptTokens)}}"#
            return SimulatedAnswer(contentType: "application/json", chunks: [Array(body.utf8)],
                                   usage: TokenUsage(promptTokens: promptTokens, completionTokens: 0))
        case .completions:
            let text = JSONText.quoted(words.joined())
            let body = #"{"id":"\#(id)","object":"text_completion","created":\#(created),"model":\#(model),"choices":[{"text":\#(text),"index":0,"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":\#(promptTokens),"completion_tokens":\#(words.count),"total_tokens":\#(promptTokens + words.count)}}"#
            if call.stream {
                var chunks: [[UInt8]] = words.map { word in
                    Array("data: {\"id\":\"\(id)\",\"object\":\"text_completion\",\"created\":\(created),\"model\":\(model),\"choices\":[{\"text\":\(JSONText.quoted(word)),\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n".utf8)
                }
                chunks.append(Array("data: {\"id\":\"\(id)\",\"object\":\"text_completion\",\"created\":\(created),\"model\":\(model),\"choices\":[],\"usage\":{\"prompt_tokens\":\(promptTokens),\"completion_tokens\":\(words.count),\"total_tokens\":\(promptTokens + words.count)}}\n\ndata: [DONE]\n\n".utf8))
                return SimulatedAnswer(contentType: "text/event-stream", chunks: chunks,
                                       usage: TokenUsage(promptTokens: promptTokens, completionTokens: words.count))
            }
            return SimulatedAnswer(contentType: "application/json", chunks: [Array(body.utf8)],
                                   usage: TokenUsage(promptTokens: promptTokens, completionTokens: words.count))
        case .imageGenerations, .imageEdits:
            // A 1×1 PNG: a valid image for any client that decodes it.
            let body = #"{"created":\#(created),"data":[{"b64_json":"\#(onePixelPNG)"}]}"#
            return SimulatedAnswer(contentType: "application/json", chunks: [Array(body.utf8)], usage: TokenUsage())
        case .audioTranscriptions:
            let body = #"{"text":\#(JSONText.quoted(words.joined()))}"#
            return SimulatedAnswer(contentType: "application/json", chunks: [Array(body.utf8)], usage: TokenUsage())
        case .audioDiarization:
            let body = #"{"object":"audio.diarization","model":\#(model),"duration":4.5,"speakers":["SPEAKER_00","SPEAKER_01"],"segments":[{"start":0.0,"end":2.0,"speaker":"SPEAKER_00"},{"start":2.0,"end":4.5,"speaker":"SPEAKER_01"}],"usage":{"type":"duration","seconds":4.5}}"#
            return SimulatedAnswer(contentType: "application/json", chunks: [Array(body.utf8)], usage: TokenUsage())
        case .run:
            let body = #"{"output":\#(JSONText.quoted(words.joined()))}"#
            return SimulatedAnswer(contentType: "application/json", chunks: [Array(body.utf8)], usage: TokenUsage())
        case .chatCompletions:
            if call.stream {
                func chunk(_ delta: String, _ finish: String) -> [UInt8] {
                    Array("data: {\"id\":\"\(id)\",\"object\":\"chat.completion.chunk\",\"created\":\(created),\"model\":\(model),\"choices\":[{\"index\":0,\"delta\":\(delta),\"finish_reason\":\(finish)}]}\n\n".utf8)
                }
                var chunks = [chunk(#"{"role":"assistant","content":""}"#, "null")]
                chunks += words.map { chunk("{\"content\":\(JSONText.quoted($0))}", "null") }
                chunks.append(chunk("{}", "\"stop\""))
                chunks.append(Array("data: {\"id\":\"\(id)\",\"object\":\"chat.completion.chunk\",\"created\":\(created),\"model\":\(model),\"choices\":[],\"usage\":{\"prompt_tokens\":\(promptTokens),\"completion_tokens\":\(words.count),\"total_tokens\":\(promptTokens + words.count)}}\n\ndata: [DONE]\n\n".utf8))
                return SimulatedAnswer(contentType: "text/event-stream", chunks: chunks,
                                       usage: TokenUsage(promptTokens: promptTokens, completionTokens: words.count))
            }
            let content = JSONText.quoted(words.joined())
            let body = #"{"id":"\#(id)","object":"chat.completion","created":\#(created),"model":\#(model),"choices":[{"index":0,"message":{"role":"assistant","content":\#(content)},"finish_reason":"stop"}],"usage":{"prompt_tokens":\#(promptTokens),"completion_tokens":\#(words.count),"total_tokens":\#(promptTokens + words.count)}}"#
            return SimulatedAnswer(contentType: "application/json", chunks: [Array(body.utf8)],
                                   usage: TokenUsage(promptTokens: promptTokens, completionTokens: words.count))
        }
    }

    /// An image-generation answer (`/v1/images/generations`): one 1×1 PNG as b64_json.
    public static func imageBody() -> String {
        #"{"created":1700000000,"data":[{"b64_json":"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="}]}"#
    }

    /// A diarization answer (`/v1/audio/diarization`, SPEC §3 shape).
    public static func diarizationBody(model: String) -> String {
        #"{"object":"audio.diarization","model":\#(JSONText.quoted(model)),"duration":4.2,"speakers":["SPEAKER_00","SPEAKER_01"],"segments":[{"start":0.0,"end":2.1,"speaker":"SPEAKER_00"},{"start":2.1,"end":4.2,"speaker":"SPEAKER_01"}],"usage":{"type":"duration","seconds":4.2}}"#
    }

    /// Counts the elements of a top-level `"input": [...]` array (1 for a single string).
    static func inputCount(_ body: [UInt8]) -> Int {
        let key = Array("\"input\"".utf8)
        guard body.count > key.count, let start = (0...(body.count - key.count)).first(where: { Array(body[$0..<($0 + key.count)]) == key }) else { return 1 }
        var i = start + key.count
        while i < body.count && (body[i] == 0x20 || body[i] == UInt8(ascii: ":") || body[i] == 0x0A) { i += 1 }
        guard i < body.count, body[i] == UInt8(ascii: "[") else { return 1 }
        var depth = 0, count = 0, inString = false, escaped = false, sawValue = false
        while i < body.count {
            let b = body[i]
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
            } else if b == UInt8(ascii: "\"") {
                inString = true
                sawValue = true
            } else if b == UInt8(ascii: "[") || b == UInt8(ascii: "{") {
                depth += 1
                if depth > 1 { sawValue = true }
            } else if b == UInt8(ascii: "]") || b == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 { return count + (sawValue ? 1 : 0) }
            } else if b == UInt8(ascii: ",") && depth == 1 {
                count += 1
            } else if b != 0x20 && b != 0x0A && b != 0x0D && b != 0x09 {
                sawValue = true
            }
            i += 1
        }
        return max(1, count)
    }
}
