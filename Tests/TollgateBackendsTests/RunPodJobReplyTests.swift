// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateBackends
import TollgateCore

struct RunPodJobReplyTests {
    private func parse(_ text: String) throws(RunPodReplyError) -> RunPodJobReply {
        try RunPodJobReply.parse(Array(text.utf8))
    }

    @Test func aCompletedJobCarriesItsOutputAndTimes() throws {
        // job-states.mdx / flux-schnell.mdx's example.
        let job = try parse(#"{"id":"sync-79164ff4-abc","status":"COMPLETED","delayTime":824,"executionTime":3391,"workerId":"oqk7ao1uomckye","output":{"image_url":"x"}}"#)
        #expect(job.id == "sync-79164ff4-abc")
        #expect(job.status == .completed && job.status.isFinal)
        #expect(job.executionTimeMs == 3391 && job.delayTimeMs == 824)
        #expect(job.output == ["image_url": "x"])
        #expect(job.error == nil)
    }

    @Test func nonFinalStatusesNeedAnID() throws {
        let queued = try parse(#"{"id":"abc-1","status":"IN_QUEUE"}"#)
        #expect(queued.status == .inQueue && !queued.status.isFinal)
        #expect(try parse(#"{"id":"abc-1","status":"IN_PROGRESS"}"#).status == .inProgress)
        #expect(try parse(#"{"id":"abc-1","status":"RUNNING"}"#).status == .inProgress)
        #expect(throws: RunPodReplyError.badJobID) { try parse(#"{"status":"IN_QUEUE"}"#) }
        // A final job needs none (the SDK's FAILED for an unknown id has one, others may not).
        #expect(try parse(#"{"status":"FAILED","error":"Job ID not found"}"#).error == "Job ID not found")
    }

    @Test func everyFinalStatusIsFinal() throws {
        for (text, status) in [("COMPLETED", RunPodJobStatus.completed), ("FAILED", .failed),
                               ("CANCELLED", .cancelled), ("TIMED_OUT", .timedOut)] {
            let job = try parse(#"{"id":"j","status":"\#(text)"}"#)
            #expect(job.status == status && job.status.isFinal)
        }
    }

    @Test func anIDThatCouldSteerAURLIsRefused() {
        for id in ["../health", "a/b", "a?x=1", "a#b", "a b", "", "..", String(repeating: "a", count: 129), "é"] {
            let text = #"{"id":"\#(id)","status":"IN_QUEUE"}"#
            #expect(throws: RunPodReplyError.badJobID) { try parse(text) }
        }
        #expect((try? parse(#"{"id":"sync-0f1e_2.x","status":"IN_QUEUE"}"#)) != nil)
    }

    @Test func whatIsNotAJobIsSaidSo() {
        #expect(throws: RunPodReplyError.notJSON) { try parse("<html>") }
        #expect(throws: RunPodReplyError.notAnObject) { try parse("[1]") }
        #expect(throws: RunPodReplyError.noStatus) { try parse(#"{"id":"x"}"#) }
        #expect(throws: RunPodReplyError.unknownStatus("PAUSED")) { try parse(#"{"id":"x","status":"PAUSED"}"#) }
        #expect(throws: RunPodReplyError.noStatus) { try parse(#"{"id":"x","status":3}"#) }
    }

    @Test func aRaisedExceptionGivesItsMessage() throws {
        // runpod-python rp_job.py run_job: JSON inside the error string.
        let inner = #"{\"error_type\": \"<class 'RuntimeError'>\", \"error_message\": \"CUDA out of memory\", \"error_traceback\": \"Traceback ...\"}"#
        let job = try parse(#"{"id":"t","status":"FAILED","error":"\#(inner)"}"#)
        #expect(job.error == "CUDA out of memory")
        #expect(try parse(#"{"id":"t","status":"FAILED","error":"plain text"}"#).error == "plain text")
        #expect(try parse(#"{"id":"t","status":"FAILED","error":{"message":"as object"}}"#).error == "as object")
        #expect(try parse(#"{"id":"t","status":"FAILED","error":""}"#).error == "the job failed without an error text")
        let long = String(repeating: "x", count: 5_000)
        #expect(try parse(#"{"id":"t","status":"FAILED","error":"\#(long)"}"#).error?.count == 1_001)
    }

    @Test func timesThatAreNotWholeNonNegativeNumbersAreNoFigure() throws {
        let odd = try parse(#"{"id":"t","status":"COMPLETED","executionTime":-5,"delayTime":"12"}"#)
        #expect(odd.executionTimeMs == nil && odd.delayTimeMs == nil)
        let fraction = try parse(#"{"id":"t","status":"COMPLETED","executionTime":12.9,"delayTime":1e300}"#)
        #expect(fraction.executionTimeMs == 12 && fraction.delayTimeMs == nil)
    }
}
