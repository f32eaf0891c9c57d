// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateCore
@testable import TollgateBackends

struct GradioQueueProtocolTests {
    static func event(_ json: String) -> GradioEvent? {
        GradioCall.callEvent(fromQueueMessage: Array(json.utf8))
    }

    /// Messages as gradio 6.31 sends them on `/queue/data` (recorded), as `/call` events.
    @Test func queueMessagesBecomeCallEvents() throws {
        #expect(Self.event(#"{"msg":"estimation","event_id":"e","rank":0,"queue_size":1,"rank_eta":null}"#) == nil)
        #expect(Self.event(#"{"msg":"process_starts","event_id":"e","eta":null}"#)?.name == "process_starts")
        #expect(Self.event(#"{"msg":"process_generating","output":{"data":[[["append",[],"x"]]]},"success":true}"#) == nil)
        #expect(Self.event(#"{"msg":"close_stream","event_id":null}"#) == nil)
        #expect(Self.event("not json") == nil)
        let done = try #require(Self.event(#"{"msg":"process_completed","event_id":"e","output":{"data":["hi*3:True"],"is_generating":false,"duration":0.1},"success":true,"title":null}"#))
        #expect(done.name == "complete")
        #expect(try JSONValue.parse(done.data) == ["hi*3:True"])
        let quota = try #require(Self.event(#"{"msg":"process_completed","event_id":"e","output":{"error":"You have exceeded your free ZeroGPU quota (60s requested vs. 0s left). Try again in 0:00:30. ","duration":10,"visible":true,"title":"ZeroGPU quota exceeded"},"success":false,"title":"ZeroGPU quota exceeded"}"#))
        #expect(quota.name == "error")
        let payload = try JSONValue.parse(quota.data)
        #expect(payload["title"] == "ZeroGPU quota exceeded")
        #expect(ZeroGPUQuota.parse(title: payload["title"]?.stringValue, message: payload["error"]?.stringValue)?.retryAfter == .seconds(30))
        let unexpected = try #require(Self.event(#"{"msg":"unexpected_error","message":"Session not found.","session_not_found":true,"success":false}"#))
        #expect(unexpected == GradioEvent(name: "error", data: Array(#""Session not found.""#.utf8)))
    }

    @Test func versionsBefore613WithholdErrorTexts() {
        func config(_ version: String?) -> GradioSpaceConfig {
            GradioSpaceConfig(apiPrefix: "", version: version, functionIndex: [:])
        }
        #expect(config("4.44.1").withholdsErrorText)
        #expect(config("5.49.1").withholdsErrorText)
        #expect(config("6.12.0").withholdsErrorText)
        #expect(!config("6.13.0").withholdsErrorText)
        #expect(!config("6.31.0").withholdsErrorText)
        #expect(!config("7.0.0b1").withholdsErrorText)
        #expect(!config(nil).withholdsErrorText)
        #expect(!config("garbage").withholdsErrorText)
    }

    @Test func theQueueJoinBodyNamesTheFunction() throws {
        let body = try JSONValue.parse(GradioDataArray.body(inputs: [.string("a")], fields: [:], sessionHash: "s", queueFunction: 6))
        #expect(body == ["data": ["a"], "session_hash": "s", "fn_index": 6, "event_data": nil, "trigger_id": nil])
    }
}
