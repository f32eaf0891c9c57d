// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateBackends
import TollgateCore

struct RunPodOutputShaperTests {
    private let base = "https://api.runpod.ai/v2/abc"

    private func plan(_ op: APIOperation, _ output: JSONValue?) -> RunPodOutputShaper.Plan {
        RunPodOutputShaper.plan(operation: op, output: output, model: "m", base: base)
    }

    @Test func runGetsTheOutputAsItIs() {
        #expect(plan(.run, ["a": [1, "x"]]) == .body(Array(#"{"a":[1,"x"]}"#.utf8)))
        #expect(plan(.run, "text") == .body(Array(#""text""#.utf8)))
        #expect(plan(.run, nil) == .body(Array("null".utf8)))
    }

    @Test func transcriptionAndDiarizationAreShapedOrRefused() throws {
        #expect(plan(.audioTranscriptions, ["text": "hello"]) == .body(Array(#"{"text":"hello"}"#.utf8)))
        guard case .unusable = plan(.audioTranscriptions, ["n": 1]) else { Issue.record("not refused"); return }
        guard case .body(let bytes) = plan(.audioDiarization, ["segments": [["start": 0, "end": .number("1.5"), "speaker": "A"]]]) else {
            Issue.record("not shaped")
            return
        }
        let value = try JSONValue.parse(bytes)
        #expect(value["object"] == "audio.diarization" && value["model"] == "m")
        guard case .unusable = plan(.audioDiarization, nil) else { Issue.record("not refused"); return }
    }

    @Test func imagesInlineSameOriginURLsAreFetchedOthersPassedOn() {
        let output: JSONValue = ["images": ["aGVsbG8=", "https://api.runpod.ai/v2/abc/files/1.png",
                                            "https://bucket.s3.amazonaws.com/o.png?X-Amz-Signature=s",
                                            "http://api.runpod.ai/v2/abc/files/2.png"]]
        #expect(plan(.imageGenerations, output) == .images([
            .base64("aGVsbG8="), .fetch("https://api.runpod.ai/v2/abc/files/1.png"),
            .url("https://bucket.s3.amazonaws.com/o.png?X-Amz-Signature=s"),
            // Another scheme is another origin (RFC 6454): never fetched with our key.
            .url("http://api.runpod.ai/v2/abc/files/2.png"),
        ]))
        guard case .unusable = plan(.imageEdits, ["n": 1]) else { Issue.record("not refused"); return }
    }

    @Test func fetchesAreBounded() {
        let many = JSONValue.array((0..<9).map { .string("https://api.runpod.ai/v2/abc/f\($0).png") })
        guard case .unusable = plan(.imageGenerations, many) else { Issue.record("not refused"); return }
    }

    @Test func theImageListHasB64JsonOrURLItems() throws {
        let inline = RunPodOutputShaper.imageList(created: 7, entries: [.base64("QQ==")])
        #expect(inline == Array(#"{"created":7,"data":[{"b64_json":"QQ=="}]}"#.utf8))
        let mixed = RunPodOutputShaper.imageList(created: 7, entries: [.base64("QQ=="), .url("https://cdn/x.png")])
        #expect(mixed == Array(#"{"created":7,"data":[{"b64_json":"QQ=="},{"url":"https://cdn/x.png"}]}"#.utf8))
    }

    @Test func chatIsNotAJob() {
        guard case .unusable = plan(.chatCompletions, ["x": 1]) else { Issue.record("not refused"); return }
    }
}
