// SPDX-License-Identifier: Apache-2.0
// The pure parts of the replicate kind: reading prediction objects, the API's URLs and headers,
// which output files may be fetched, and the shaped replies.
import Testing
@testable import TollgateBackends
import TollgateCore

private func json(_ text: String) throws -> JSONValue {
    try JSONValue.parse(Array(text.utf8))
}

@Suite struct ReplicatePredictionTests {
    @Test func readsAFinalPrediction() throws {
        let p = try #require(ReplicatePrediction(json: json("""
            {"id":"gm3qorzdhgbfurvjtvhg6dckhu","status":"succeeded","output":["https://replicate.delivery/a.png"],
             "error":null,"metrics":{"predict_time":2.345,"total_time":10.5},
             "urls":{"get":"https://api.replicate.com/v1/predictions/gm3q","cancel":"https://api.replicate.com/v1/predictions/gm3q/cancel"}}
            """)))
        #expect(p.status == .succeeded && p.status.isFinal)
        #expect(p.predictTime == MilliGPUSeconds(2_345))
        #expect(p.waitTime == .milliseconds(8_155))
        #expect(p.output == ["https://replicate.delivery/a.png"])
        #expect(p.error == nil)
        #expect(p.getURL == "https://api.replicate.com/v1/predictions/gm3q")
    }

    @Test func everyStatusAndAbortedAreRead() throws {
        for (text, final) in [("starting", false), ("processing", false), ("succeeded", true), ("failed", true),
                              ("canceled", true), ("aborted", true), ("queued-somehow", false)] {
            let p = try #require(ReplicatePrediction(json: json(#"{"id":"x1","status":"\#(text)"}"#)))
            #expect(p.status.isFinal == final, "\(text)")
        }
        #expect(ReplicatePrediction.Status("aborted") == .aborted)
    }

    @Test func errorTextFromAStringOrAnyJSON() throws {
        let a = try #require(ReplicatePrediction(json: json(#"{"id":"x","status":"failed","error":"CUDA OOM"}"#)))
        #expect(a.error == "CUDA OOM")
        let b = try #require(ReplicatePrediction(json: json(#"{"id":"x","status":"failed","error":{"msg":"bad"}}"#)))
        #expect(b.error == #"{"msg":"bad"}"#)
    }

    @Test func untrustedFieldsNeverTrap() throws {
        // No id, an id that would change a path, a non-string status, absurd metrics.
        #expect(ReplicatePrediction(json: try json(#"{"status":"starting"}"#)) == nil)
        #expect(ReplicatePrediction(json: try json(#"{"id":"../x?y","status":"starting"}"#)) == nil)
        #expect(ReplicatePrediction(json: try json(#"{"id":"x","status":3}"#)) == nil)
        #expect(ReplicatePrediction(json: try json("[1,2]")) == nil)
        let p = try #require(ReplicatePrediction(json: json(
            #"{"id":"x","status":"succeeded","metrics":{"predict_time":-5,"total_time":1e300}}"#)))
        #expect(p.predictTime == nil && p.waitTime == nil)
        let q = try #require(ReplicatePrediction(json: json(#"{"id":"x","status":"succeeded","metrics":{"predict_time":1e300}}"#)))
        #expect(q.predictTime != nil)
    }
}

@Suite struct ReplicateEndpointsTests {
    @Test func modelAndVersionTargets() {
        let m = ReplicateEndpoints(baseURL: "https://api.replicate.com/v1/", target: .model(owner: "black-forest-labs", name: "flux-schnell"))
        #expect(m.createURL == "https://api.replicate.com/v1/models/black-forest-labs/flux-schnell/predictions")
        #expect(m.bodyPrefix == "")
        let v = ReplicateEndpoints(baseURL: "https://api.replicate.com/v1", target: .version("5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"))
        #expect(v.createURL == "https://api.replicate.com/v1/predictions")
        #expect(v.bodyPrefix == #""version":"5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa","#)
    }

    @Test func preferWaitStaysInTheAPIRangeAndUnderTheTimeLeft() {
        #expect(ReplicateEndpoints.preferWait(remainingMs: 300_000, maxWait: 10) == "wait=10")
        #expect(ReplicateEndpoints.preferWait(remainingMs: 300_000, maxWait: 500) == "wait=60")
        #expect(ReplicateEndpoints.preferWait(remainingMs: 5_000, maxWait: 60) == "wait=4")
        #expect(ReplicateEndpoints.preferWait(remainingMs: 900, maxWait: 60) == "wait=1")
        #expect(ReplicateEndpoints.preferWait(remainingMs: 0, maxWait: 0) == "wait=1")
    }

    @Test func pollsAndCancelsOnlyOnTheAPIOrigin() throws {
        let e = ReplicateEndpoints(baseURL: "https://api.replicate.com/v1", target: .model(owner: "a", name: "b"))
        let own = try #require(ReplicatePrediction(json: json("""
            {"id":"abc","status":"starting","urls":{"get":"https://API.replicate.com:443/v1/predictions/abc",
             "cancel":"https://api.replicate.com/v1/predictions/abc/cancel"}}
            """)))
        #expect(e.getURL(for: own) == "https://API.replicate.com:443/v1/predictions/abc")
        #expect(e.cancelURL(for: own) == "https://api.replicate.com/v1/predictions/abc/cancel")
        let foreign = try #require(ReplicatePrediction(json: json("""
            {"id":"abc","status":"starting","urls":{"get":"https://evil.example/v1/predictions/abc",
             "cancel":"https://api.replicate.com@evil.example/x"}}
            """)))
        #expect(e.getURL(for: foreign) == nil)
        // The documented path instead: the job is still cancelled, and only on the API's origin.
        #expect(e.cancelURL(for: foreign) == "https://api.replicate.com/v1/predictions/abc/cancel")
        let bare = try #require(ReplicatePrediction(json: json(#"{"id":"abc","status":"starting"}"#)))
        #expect(e.getURL(for: bare) == "https://api.replicate.com/v1/predictions/abc")
    }

    @Test func filesComeFromTheDeliveryHostsOrTheAPIOrigin() {
        let e = ReplicateEndpoints(baseURL: "https://api.replicate.com/v1", target: .model(owner: "a", name: "b"))
        #expect(e.files.allows("https://replicate.delivery/xezq/out-0.webp"))
        #expect(e.files.allows("https://pbxt.replicate.delivery/x/out.png"))
        #expect(e.files.allows("https://api.replicate.com/v1/files/abc"))
        #expect(!e.files.allows("http://replicate.delivery/x.png"))
        #expect(!e.files.allows("https://replicate.delivery.evil.example/x.png"))
        #expect(!e.files.allows("https://evilreplicate.delivery/x.png"))
        #expect(!e.files.allows("https://replicate.delivery@evil.example/x.png"))
        // A test's fake: its own origin is the API's and the delivery origin at once.
        let fake = ReplicateEndpoints(baseURL: "http://127.0.0.1:8123/v1", target: .model(owner: "a", name: "b"))
        #expect(fake.files.allows("http://127.0.0.1:8123/files/x/out-0.png"))
        #expect(!fake.files.allows("http://127.0.0.1:8124/files/x/out-0.png"))
    }
}

@Suite struct ReplicateOutputTests {
    let endpoints = ReplicateEndpoints(baseURL: "https://api.replicate.com/v1", target: .model(owner: "a", name: "b"))

    @Test func imagesAreFetchedAndInlined() throws {
        let output: JSONValue = ["https://replicate.delivery/a/out-0.png", "https://replicate.delivery/a/out-1.png",
                                 "https://replicate.delivery/a/out-0.png"]
        let urls = try ReplicateOutput.files(operation: .imageGenerations, output: output, endpoints: endpoints)
        #expect(urls == ["https://replicate.delivery/a/out-0.png", "https://replicate.delivery/a/out-1.png"])
        let files = [urls[0]: ReplicateOutput.File(bytes: [1, 2, 3], contentType: "image/png"),
                     urls[1]: ReplicateOutput.File(bytes: [4], contentType: "image/png")]
        let body = try ReplicateOutput.reply(operation: .imageGenerations, output: output, model: "flux", files: files, created: 7)
        #expect(String(decoding: body, as: UTF8.self)
                == #"{"created":7,"data":[{"b64_json":"AQID"},{"b64_json":"BA=="},{"b64_json":"AQID"}]}"#)
    }

    @Test func aForeignImageURLIsRefusedNotFetched() {
        #expect(throws: ReplicateOutput.Failure.foreignFile("https://evil.example/x.png")) {
            try ReplicateOutput.files(operation: .imageEdits, output: "https://evil.example/x.png", endpoints: endpoints)
        }
        #expect(throws: ReplicateOutput.Failure.noImages) {
            try ReplicateOutput.files(operation: .imageGenerations, output: .null, endpoints: endpoints)
        }
        let many = JSONValue.array((0..<20).map { .string("https://replicate.delivery/f/\($0).png") })
        #expect(throws: ReplicateOutput.Failure.tooManyFiles) {
            try ReplicateOutput.files(operation: .imageGenerations, output: many, endpoints: endpoints)
        }
    }

    /// An output is the platform's text: one naming tens of thousands of URLs must be refused
    /// in linear time (the loop runs every other stream meanwhile), not after comparing each
    /// URL with every one before it.
    @Test(arguments: [APIOperation.run, .imageGenerations])
    func aHugeListOfURLsIsRefusedWithoutQuadraticWork(operation: APIOperation) {
        let host = operation == .run ? "https://api.replicate.com/v1/files/" : "https://replicate.delivery/f/"
        let many = JSONValue.array((0..<20_000).map { .string(host + "file-\($0)") })
        let clock = ContinuousClock()
        let started = clock.now
        #expect(throws: ReplicateOutput.Failure.self) {
            try ReplicateOutput.files(operation: operation, output: many, endpoints: endpoints)
        }
        #expect(clock.now - started < .seconds(1))
    }

    @Test func runKeepsTheOutputButInlinesURLsThatNeedTheToken() throws {
        let output = try json("""
            {"file":"https://api.replicate.com/v1/files/abc","public":"https://replicate.delivery/a.png","n":[1,"x"]}
            """)
        let urls = try ReplicateOutput.files(operation: .run, output: output, endpoints: endpoints)
        #expect(urls == ["https://api.replicate.com/v1/files/abc"])
        let body = try ReplicateOutput.reply(operation: .run, output: output, model: "m",
                                             files: [urls[0]: .init(bytes: [0xFF], contentType: "Text/Plain; charset=utf-8")], created: 0)
        #expect(String(decoding: body, as: UTF8.self)
                == #"{"file":"data:text/plain;base64,/w==","public":"https://replicate.delivery/a.png","n":[1,"x"]}"#)
    }

    @Test func diarizationAndTranscriptionAreShaped() throws {
        let output = try json(#"{"segments":[{"start":"0.5","end":"4.2","speaker":"B"},{"start":4.5,"end":9.25,"speaker":"A"}]}"#)
        let body = try ReplicateOutput.reply(operation: .audioDiarization, output: output, model: "d", files: [:], created: 0)
        let shaped = try JSONValue.parse(body)
        #expect(shaped["object"] == "audio.diarization")
        #expect(shaped["speakers"] == ["A", "B"])
        #expect(shaped["duration"]?.doubleValue == 9.25)
        let text = try ReplicateOutput.reply(operation: .audioTranscriptions, output: "hello", model: "w", files: [:], created: 0)
        #expect(String(decoding: text, as: UTF8.self) == #"{"text":"hello"}"#)
        #expect(throws: ReplicateOutput.Failure.unshapeable(.audioDiarization)) {
            try ReplicateOutput.reply(operation: .audioDiarization, output: 42, model: "d", files: [:], created: 0)
        }
    }

    @Test func mediaTypeIsCheckedBeforeItGoesIntoADataURI() {
        #expect(ReplicateOutput.mediaType("image/png") == "image/png")
        #expect(ReplicateOutput.mediaType(" IMAGE/WebP ;q=1") == "image/webp")
        #expect(ReplicateOutput.mediaType("text/html,<script>") == "application/octet-stream")
        #expect(ReplicateOutput.mediaType(nil) == "application/octet-stream")
        #expect(ReplicateOutput.mediaType("nonsense") == "application/octet-stream")
    }
}

@Suite struct ReplicateInputDropperTests {
    /// `text` through the dropper, fed in pieces of `step` bytes.
    private func dropped(_ text: String, step: Int) -> String {
        var dropper = ReplicateInputDropper()
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let end = min(i + step, bytes.count)
            bytes[i..<end].withUnsafeBytes { dropper.feed($0, into: &out) }
            i = end
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func theInputValueBecomesNullAtAnySplit() {
        let cases: [(String, String)] = [
            (#"{"id":"a","input":{"file":"data:audio/wav;base64,AAAA","x":[1,{"y":"}"}]},"status":"starting"}"#,
             #"{"id":"a","input":null,"status":"starting"}"#),
            (#"{"input" : "a \"quoted\" , } string" ,"id":"b"}"#, #"{"input" :null,"id":"b"}"#),
            (#"{"id":"c","input":[1,2,3]}"#, #"{"id":"c","input":null}"#),
            (#"{"id":"d","input":42}"#, #"{"id":"d","input":null}"#),
            // Not the top-level member, or not exactly its name: kept.
            (#"{"output":{"input":"keep"},"inputs":"keep","\u0069nput":"keep"}"#,
             #"{"output":{"input":"keep"},"inputs":"keep","\u0069nput":"keep"}"#),
            (#"{"x":"input","y":["input",{"input":1}]}"#, #"{"x":"input","y":["input",{"input":1}]}"#),
            // Not JSON: passed on for the parser to refuse.
            (#"]]}"input":{"#, #"]]}"input":{"#),
        ]
        for (input, expected) in cases {
            for step in 1...input.utf8.count {
                #expect(dropped(input, step: step) == expected, "step \(step): \(input)")
            }
        }
    }

    @Test func theParsedPredictionIsUnchangedButTheFileIsNotHeld() throws {
        let file = String(repeating: "QUJD", count: 100_000)
        let reply = #"{"id":"p1","input":{"audio":"data:audio/wav;base64,\#(file)"},"status":"processing","urls":{"get":"https://api.replicate.com/v1/predictions/p1"}}"#
        var dropper = ReplicateInputDropper()
        var out: [UInt8] = []
        Array(reply.utf8).withUnsafeBytes { dropper.feed($0, into: &out) }
        #expect(out.count < 200)
        #expect(dropper.dropped > 400_000)
        let p = try #require(ReplicatePrediction(json: JSONValue.parse(out)))
        #expect(p.id == "p1" && p.status == .processing)
    }
}
