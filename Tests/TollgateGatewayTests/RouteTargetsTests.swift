// SPDX-License-Identifier: Apache-2.0
// The new routes' pure parts: `/v1/run/<model>[/<rest>]` split into model and run path, and a
// body's Content-Type against what each route takes (SPEC §3).
import Testing
import TollgateBackends
@testable import TollgateGateway

struct RunTargetTests {
    @Test func theModelIsTheSegmentAndTheRestGoesOnAsSent() throws {
        let t = try #require(RunTarget(target: "/v1/run/whisper/x/y?y=1&z=%2F"))
        #expect(t.model == "whisper" && t.rawModel == "whisper" && t.runPath == "/x/y?y=1&z=%2F")
        #expect(RunTarget(target: "/v1/run/m")?.runPath == "")
        #expect(RunTarget(target: "/v1/run/m/")?.runPath == "/")
        #expect(RunTarget(target: "/v1/run/m?q=1")?.runPath == "?q=1")
    }

    @Test func theModelIsPercentDecoded() throws {
        let t = try #require(RunTarget(target: "/v1/run/owner%2Fname/predict"))
        #expect(t.model == "owner/name" && t.rawModel == "owner%2Fname" && t.runPath == "/predict")
    }

    @Test func aRestWithDotSegmentsIsRefusedEvenEncoded() throws {
        for rest in ["/..", "/.", "/../x", "/a/../../x", "/%2e%2e/x", "/%2E./x", "/..%2Fx", "/..%5cx", "/x/.?q", "//../x", "/..;/x", "/.;a=b/x", "/..%3B/x"] {
            #expect(try #require(RunTarget(target: "/v1/run/m" + rest)).restRefusal != nil, "\(rest)")
        }
        for rest in ["", "/", "/v1.2/..x/a..b", "/x?q=..", "/x?../..", "/...", "/%zz", "/a;..", "/..a;/x"] {
            #expect(try #require(RunTarget(target: "/v1/run/m" + rest)).restRefusal == nil, "\(rest)")
        }
    }

    @Test func noModelOrABrokenOneIsNoTarget() {
        for target in ["/v1/run/", "/v1/run//x", "/v1/run/?x", "/v1/run", "/v1/runx/m", "/v1/run/%", "/v1/run/%4",
                       "/v1/run/%zz", "/v1/run/%00", "/v1/run/%ff%fe"] {
            #expect(RunTarget(target: target) == nil, "\(target)")
        }
    }
}

struct RequestMediaTypeTests {
    @Test func contentTypesAreClassified() {
        #expect(RequestMediaType(contentType: nil) == .absent)
        #expect(RequestMediaType(contentType: "application/json") == .json)
        #expect(RequestMediaType(contentType: "Application/JSON; charset=utf-8") == .json)
        #expect(RequestMediaType(contentType: "application/vnd.api+json") == .json)
        #expect(RequestMediaType(contentType: "multipart/form-data; boundary=abc") == .multipart(boundary: Array("abc".utf8)))
        #expect(RequestMediaType(contentType: "text/plain") == .other("text/plain"))
        #expect(RequestMediaType(contentType: "multipart/mixed; boundary=abc") == .other("multipart/mixed"))
        if case .brokenMultipart = RequestMediaType(contentType: "multipart/form-data") {} else {
            Issue.record("a form without a boundary must be refused")
        }
    }

    @Test func eachRouteTakesItsTypes() {
        let multipart = RequestMediaType.multipart(boundary: Array("b".utf8))
        #expect(multipart.refusal(for: .chatCompletions) != nil)
        #expect(multipart.refusal(for: .imageGenerations) != nil)
        #expect(multipart.refusal(for: .imageEdits) == nil)
        #expect(multipart.refusal(for: .audioTranscriptions) == nil)
        #expect(multipart.refusal(for: .audioDiarization) == nil)
        #expect(multipart.refusal(for: .run) == nil)
        #expect(RequestMediaType.json.refusal(for: .audioTranscriptions) != nil)
        #expect(RequestMediaType.json.refusal(for: .imageEdits) != nil)
        #expect(RequestMediaType.json.refusal(for: .audioDiarization) == nil)
        #expect(RequestMediaType.json.refusal(for: .run) == nil)
        // JSON routes read a mislabelled body as JSON, as before.
        #expect(RequestMediaType.other("text/plain").reading(for: .chatCompletions) == .json)
        #expect(RequestMediaType.absent.reading(for: .embeddings) == .json)
        // Routes that take multipart cannot find a model in anything else: refused unread.
        if case .refuse(415, "unsupported_media_type", _) = RequestMediaType.other("text/plain").reading(for: .audioDiarization) {} else {
            Issue.record("text/plain on diarization must be a 415")
        }
        if case .refuse(415, _, _) = RequestMediaType.absent.reading(for: .audioTranscriptions) {} else {
            Issue.record("no Content-Type on transcriptions must be a 415")
        }
        #expect(RequestMediaType.absent.reading(for: .audioDiarization) == .json)
    }
}

struct MultipartFieldScannerTests {
    private static let boundary = "XyZ"

    private static func form(_ parts: [(name: String, filename: String?, value: String)]) -> [UInt8] {
        var s = ""
        for p in parts {
            s += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(p.name)\""
            if let f = p.filename { s += "; filename=\"\(f)\"\r\nContent-Type: application/octet-stream" }
            s += "\r\n\r\n\(p.value)\r\n"
        }
        return Array((s + "--\(boundary)--\r\n").utf8)
    }

    /// Feeds `body` split at every `step` bytes.
    private static func scan(_ body: [UInt8], step: Int) throws -> MultipartFieldScanner {
        var scanner = try MultipartFieldScanner(boundary: Array(boundary.utf8))
        var i = 0
        while i < body.count {
            let end = min(body.count, i + step)
            body[i..<end].withUnsafeBytes { scanner.scan($0) }
            i = end
        }
        scanner.finish()
        return scanner
    }

    @Test func theModelAndStreamFieldsAreFoundWhereverTheBodyIsSplit() throws {
        let body = Self.form([("file", "a.wav", String(repeating: "\r\n--Xy", count: 50)), ("model", nil, "whisper-1"),
                              ("stream", nil, "true")])
        for step in [1, 2, 3, 7, 64, body.count] {
            let s = try Self.scan(body, step: step)
            #expect(s.rejection == nil && s.model == "whisper-1" && s.stream == true, "step \(step)")
        }
    }

    @Test func aSecondModelOrAFileModelIsRefused() throws {
        let twice = try Self.scan(Self.form([("model", nil, "a"), ("file", "f", "x"), ("model", nil, "b")]), step: 5)
        #expect(twice.rejection?.contains("more than one `model`") == true)
        let file = try Self.scan(Self.form([("model", "m.txt", "a")]), step: 5)
        #expect(file.rejection?.contains("text field") == true)
    }

    @Test func aMalformedBodyIsRefusedWithTheParsersReason() throws {
        var truncated = Self.form([("model", nil, "a")])
        truncated.removeLast(8)
        #expect(try Self.scan(truncated, step: 3).rejection == "the body ended before the closing boundary")
        let noDisposition = Array("--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--\r\n".utf8)
        #expect(try Self.scan(noDisposition, step: 1).rejection == "a part has no Content-Disposition header")
    }

    @Test func anOverlongModelIsRefused() throws {
        let s = try Self.scan(Self.form([("model", nil, String(repeating: "m", count: 600))]), step: 100)
        #expect(s.rejection?.contains("longer than") == true && s.model == nil)
    }
}
