// SPDX-License-Identifier: Apache-2.0
// A pass-through kind's diarization reply, read whole and reshaped into SPEC §3's object.
import Testing
import TollgateCore
@testable import TollgateBackends

struct DiarizationShapingTests {
    private let shaping = OpenAIBackend.diarizationShaping(model: "diarize")

    @Test func segmentsWithStringTimesBecomeTheSpecObject() throws {
        let reply = #"{"segments":[{"start":"4.5","end":"9.25","speaker":"B"},{"start":0.5,"end":4.2,"speaker":"A"}]}"#
        let shaped = try JSONValue.parse(try #require(shaping.shape(Array(reply.utf8))))
        #expect(shaped["object"]?.stringValue == "audio.diarization" && shaped["model"]?.stringValue == "diarize")
        #expect(shaped["speakers"] == .array([.string("A"), .string("B")]))
        #expect(shaped["duration"]?.doubleValue == 9.25)
        #expect(shaped["segments"]?[0]?["start"]?.doubleValue == 4.5)
        #expect(shaping.contentType == "application/json" && shaping.maxBytes == 8 << 20)
    }

    @Test func pyannoteStyleDiarization() throws {
        let reply = #"{"diarization":[{"speaker":"SPEAKER_00","start":15.0,"end":30.5}]}"#
        let shaped = try JSONValue.parse(try #require(shaping.shape(Array(reply.utf8))))
        #expect(shaped["speakers"] == .array([.string("SPEAKER_00")]) && shaped["duration"]?.doubleValue == 30.5)
    }

    @Test func aReplyWithoutAListOrNotJSONIsUnshapeable() {
        for reply in [#"{"ok":1}"#, "not json", "", #"{"segments":"#] {
            #expect(shaping.shape(Array(reply.utf8)) == nil, "\(reply)")
        }
    }
}
