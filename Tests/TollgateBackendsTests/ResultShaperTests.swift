// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateCore
@testable import TollgateBackends

@Suite struct ResultShaperTests {
    private func json(_ text: String) throws -> JSONValue {
        try JSONValue.parse(Array(text.utf8))
    }

    // MARK: - Diarization

    @Test func segmentsBecomeSpec3Shape() throws {
        let output = try json(#"""
            {"segments":[{"start":0.5,"end":2.25,"speaker":"SPEAKER_01"},
                         {"start":2.5,"end":4,"speaker":"SPEAKER_00"},
                         {"start":4.1,"end":5.0,"speaker":"SPEAKER_01"}]}
            """#)
        let shaped = try #require(ResultShaper.diarization(output, model: "diarize"))
        #expect(shaped.text == #"{"object":"audio.diarization","model":"diarize","duration":5.0,"#
            + #""speakers":["SPEAKER_00","SPEAKER_01"],"#
            + #""segments":[{"start":0.5,"end":2.25,"speaker":"SPEAKER_01"},{"start":2.5,"end":4,"speaker":"SPEAKER_00"},"#
            + #"{"start":4.1,"end":5.0,"speaker":"SPEAKER_01"}],"#
            + #""usage":{"type":"duration","seconds":5.0}}"#)
    }

    @Test func pyannoteStyleUnderOutputWithStringsAndLabels() throws {
        // RunPod / Replicate wrap the worker's return value in `output`; pyannote workers often
        // send times as strings and `label` for the speaker.
        let output = try json(#"""
            {"id":"job-1","status":"COMPLETED","output":{"diarization":[
                {"start":"0.0","end":" 1.5 ","label":"B"},
                {"start":1.5,"end":"3.75","label":"A"},
                {"start":"x","end":"4","label":"A"},
                {"start":4,"end":5},
                {"start":5,"end":6,"speaker":7}]}}
            """#)
        let shaped = try #require(ResultShaper.diarization(output, model: "m"))
        #expect(shaped["segments"] == [
            ["start": .number("0.0"), "end": .number("1.5"), "speaker": "B"],
            ["start": .number("1.5"), "end": .number("3.75"), "speaker": "A"],
            ["start": .number("5"), "end": .number("6"), "speaker": "7"],
        ])
        #expect(shaped["speakers"] == ["7", "A", "B"])
        #expect(shaped["duration"] == .number("6"))
        #expect(shaped["usage"]?["seconds"] == .number("6"))
    }

    @Test func aReportedDurationWinsOverTheLastEnd() throws {
        let output = try json(#"{"output":{"duration":"12.5","segments":[{"start":0,"end":3,"speaker":"S"}]}}"#)
        let shaped = try #require(ResultShaper.diarization(output, model: "m"))
        #expect(shaped["duration"] == .number("12.5"))
        #expect(shaped["usage"]?["seconds"] == .number("12.5"))
        let outer = try json(#"{"duration":9,"output":{"segments":[{"start":0,"end":3,"speaker":"S"}]}}"#)
        #expect(ResultShaper.diarization(outer, model: "m")?["duration"] == .number("9"))
    }

    @Test func theLargestEndIsTheDurationWhateverTheOrder() throws {
        let output = try json(#"[{"start":3,"end":9.5,"speaker":"a"},{"start":0,"end":2,"speaker":"b"}]"#)
        let shaped = try #require(ResultShaper.diarization(output, model: "m"))
        #expect(shaped["duration"] == .number("9.5"))
    }

    @Test func emptyListAndNoList() throws {
        let empty = try #require(ResultShaper.diarization(try json(#"{"segments":[]}"#), model: "m"))
        #expect(empty.text == #"{"object":"audio.diarization","model":"m","duration":0,"speakers":[],"segments":[],"#
            + #""usage":{"type":"duration","seconds":0}}"#)
        #expect(ResultShaper.diarization(try json(#"{"text":"hello"}"#), model: "m") == nil)
        #expect(ResultShaper.diarization(try json(#""hello""#), model: "m") == nil)
        #expect(ResultShaper.diarization(try json(#"{"segments":"x"}"#), model: "m") == nil)
        // Wrappers are followed only so far.
        var deep: JSONValue = ["segments": []]
        for _ in 0..<20 { deep = ["output": deep] }
        #expect(ResultShaper.diarization(deep, model: "m") == nil)
    }

    @Test func speakersSortByBytes() throws {
        let output = try json(#"{"segments":[{"start":0,"end":1,"speaker":"b"},{"start":1,"end":2,"speaker":"B"},"#
            + #"{"start":2,"end":3,"speaker":"é"},{"start":3,"end":4,"speaker":"a"},{"start":4,"end":5,"speaker":"b"}]}"#)
        #expect(ResultShaper.diarization(output, model: "m")?["speakers"] == ["B", "a", "b", "é"])
    }

    // MARK: - Transcription

    @Test func transcriptionShapes() throws {
        #expect(ResultShaper.transcription("hi there") == ["text": "hi there"])
        #expect(ResultShaper.transcription(try json(#"{"text":"a","language":"en"}"#)) == ["text": "a"])
        #expect(ResultShaper.transcription(try json(#"{"transcription":"b"}"#)) == ["text": "b"])
        #expect(ResultShaper.transcription(try json(#"{"status":"COMPLETED","output":{"transcription":"c"}}"#)) == ["text": "c"])
        #expect(ResultShaper.transcription(try json(#"{"output":"d"}"#)) == ["text": "d"])
        #expect(ResultShaper.transcription(try json(#"{"text":1}"#)) == nil)
        #expect(ResultShaper.transcription(try json(#"[1]"#)) == nil)
        #expect(ResultShaper.transcription(.null) == nil)
    }

    // MARK: - Images

    @Test func imageStringsByKind() {
        #expect(ResultShaper.imageItems("data:image/png;base64,iVBORw0KGgo=") == [.base64("iVBORw0KGgo=")])
        #expect(ResultShaper.imageItems("DATA:image/png;BASE64,iVBORw0KGgo") == [.base64("iVBORw0KGgo")])
        #expect(ResultShaper.imageItems("https://replicate.delivery/x/out.png") == [.url("https://replicate.delivery/x/out.png")])
        #expect(ResultShaper.imageItems("HTTP://h/a.png") == [.url("HTTP://h/a.png")])
        #expect(ResultShaper.imageItems("iVBORw0KGgo=") == [.base64("iVBORw0KGgo=")])
        // Not images: a non-base64 data URI, junk, paths on the backend's disk, other schemes.
        #expect(ResultShaper.imageItems("data:text/plain,hello") == [])
        #expect(ResultShaper.imageItems("data:image/png;base64,@@@") == [])
        #expect(ResultShaper.imageItems("data:image/png;base64,") == [])
        #expect(ResultShaper.imageItems("not base64!") == [])
        #expect(ResultShaper.imageItems("/tmp/gradio/abc/image.png") == [])
        #expect(ResultShaper.imageItems("file:///etc/passwd") == [])
        #expect(ResultShaper.imageItems("") == [])
        #expect(ResultShaper.imageItems(1) == [])
        #expect(ResultShaper.imageItems(.null) == [])
    }

    @Test func imageContainers() throws {
        // Replicate: a list of URLs.
        #expect(ResultShaper.imageItems(try json(#"["https://a/1.png","https://a/2.png"]"#)) == [.url("https://a/1.png"), .url("https://a/2.png")])
        // RunPod workers: {"image": …} or {"images": […]}, under the job's `output`.
        #expect(ResultShaper.imageItems(try json(#"{"status":"COMPLETED","output":{"images":["QUJD","data:image/png;base64,REVG"]}}"#))
            == [.base64("QUJD"), .base64("REVG")])
        #expect(ResultShaper.imageItems(try json(#"{"output":[{"image":"QUJD"},{"image":"REVG"}]}"#)) == [.base64("QUJD"), .base64("REVG")])
        // OpenAI-shaped backends.
        #expect(ResultShaper.imageItems(try json(#"{"created":1,"data":[{"b64_json":"QUJD"},{"url":"https://x/y.png"}]}"#))
            == [.base64("QUJD"), .url("https://x/y.png")])
        // Gradio FileData: its URL, not also its server-side path.
        #expect(ResultShaper.imageItems(try json(#"{"path":"/tmp/gradio/QUJD","url":"https://s.hf.space/file=/tmp/gradio/QUJD","orig_name":"a.png"}"#))
            == [.url("https://s.hf.space/file=/tmp/gradio/QUJD")])
        // A path is a file on the backend's disk, never base64 (this one would decode).
        #expect(ResultShaper.imageItems(try json(#"[{"path":"/tmp/gradio/abcd"}]"#)) == [])
        #expect(ResultShaper.imageItems(try json(#"[{"path":"https://s.hf.space/file=x.png"}]"#)) == [.url("https://s.hf.space/file=x.png")])
        // Other members are not looked at.
        #expect(ResultShaper.imageItems(try json(#"{"status":"QUJD","id":"REVG"}"#)) == [])
        // Bounded nesting.
        var deep: JSONValue = "QUJD"
        for _ in 0..<20 { deep = ["output": deep] }
        #expect(ResultShaper.imageItems(deep) == [])
    }

    @Test func aResultListingAMillionImagesGivesTheFirstMaxImages() {
        // A hostile backend's result: every adapter walks what this returns (fetching, checking
        // origins, de-duplicating), so its length is bounded whatever the result holds.
        let urls = JSONValue.array((0..<1_000_000).map { .string("https://h/\($0).png") })
        let items = ResultShaper.imageItems(urls)
        #expect(items.count == ResultShaper.maxImages)
        #expect(items.first == .url("https://h/0.png"))
        let nested = JSONValue.array([["images": .array(Array(repeating: "QUJD", count: 500))], "REVG"])
        #expect(ResultShaper.imageItems(nested).count == ResultShaper.maxImages)
    }

    @Test func imageListIsOpenAIsShape() throws {
        let bytes = ResultShaper.imageList(created: 1_700_000_000, base64: ["QUJD", "a+/="])
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"created":1700000000,"data":[{"b64_json":"QUJD"},{"b64_json":"a+/="}]}"#)
        #expect(String(decoding: ResultShaper.imageList(created: 0, base64: []), as: UTF8.self) == #"{"created":0,"data":[]}"#)
    }
}
