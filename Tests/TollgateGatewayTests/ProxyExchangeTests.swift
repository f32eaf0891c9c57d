// SPDX-License-Identifier: Apache-2.0
// ProxyExchange end to end through the real HTTP server and responder, with ScriptedBackends as
// its adapters: failover order, body replay with per-attempt edits, re-entry (stale reports,
// an adapter ending inside `invoke`), cancel on client abort, the SSE splice, and a reply
// whose Content-Length lies. Timing lives in the scripts as loop timers (ordered by deadline
// on the one loop); the test thread only polls with deadlines.
import Testing
import TollgateTestSupport
import TollgateBackends
@testable import TollgateGateway
import TollgateCore

private let json = [("content-type", "application/json")]
private let sse = [("content-type", "text/event-stream")]

private func ok(_ text: String, usage: TokenUsage = TokenUsage()) -> Script {
    Script([.readBody, .head(200, json, contentLength: text.utf8.count), .body(text), .end(.completed, usage)])
}

private func failing(_ status: Int, _ text: String) -> Script {
    Script([.readBody, .head(status, json, contentLength: text.utf8.count), .body(text), .end(.completed, TokenUsage())])
}

private let refused = Script([.end(.connectFailed("connection refused"), TokenUsage())])

@Suite(.serialized)
struct ProxyExchangeTests {
    // MARK: - Failover

    @Test func failoverTriesTheCandidatesInConfigOrder() throws {
        let server = try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "a", scripts: [refused]),
                       ScriptedBackendSpec(name: "b", scripts: [failing(500, #"{"error":{"message":"GPU on fire"}}"#)]),
                       ScriptedBackendSpec(name: "c", scripts: [ok(#"{"answer":42}"#, usage: TokenUsage(promptTokens: 3, completionTokens: 5))],
                                           costModel: .perRequest(MicroDollars(1_234)))],
            models: [("m", [0, 1, 2], 3), ("two", [0, 1, 2], 2)])
        defer { server.stop() }

        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        let reply = try client.response()
        #expect(reply.status == 200)
        #expect(reply.text == #"{"answer":42}"#)
        #expect(reply.header("x-tollgate-backend") == "c")
        #expect(server.log.snapshot.map(\.backend) == ["a", "b", "c"])
        let record = try #require(server.records.wait(for: 1).first)
        #expect(record.attempts == 3 && record.backend == "c" && record.status == 200)
        #expect(record.promptTokens == 3 && record.completionTokens == 5)
        // a was never reached (free), b is free, c costs its per-request price.
        #expect(record.cost == MicroDollars(1_234))
        #expect(record.error == nil)

        // Two attempts: the last failure (b's 500) is the answer, and c is never asked.
        client.post(body: ProxyTestServer.chat(model: "two"))
        let failed = try client.response()
        #expect(failed.status == 502)
        #expect(failed.text.contains("\"code\":\"bad_gateway\""))
        #expect(failed.text.contains("b failed: GPU on fire"))
        #expect(server.log.snapshot.map(\.backend) == ["a", "b", "c", "a", "b"])
        let second = try #require(server.records.wait(for: 2).last)
        #expect(second.attempts == 2 && second.backend == "b" && second.error == "bad_gateway")
    }

    @Test func rateLimitedEverywhereListsEveryCandidatesReason() throws {
        let server = try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "a", scripts: [failing(429, #"{"error":{"message":"slow down"}}"#)]),
                       ScriptedBackendSpec(name: "b", scripts: [refused])],
            models: [("m", [1, 0], 2)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        let reply = try client.response()
        #expect(reply.status == 503)
        #expect(reply.text.contains("\"code\":\"no_backend_available\""))
        #expect(reply.text.contains("b: connection refused; a: slow down"))
    }

    // MARK: - Replay

    @Test func theSecondAttemptGetsTheSameBytesWithItsOwnEdits() throws {
        let content = String(repeating: "ab\\\"cd ", count: 20_000)  // ~140 KB: many reads
        let request = #"{"model":"m","stream":true,"messages":[{"role":"user","content":"\#(content)"}]}"#
        let events = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n"
        let server = try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "a", scripts: [failing(503, "{}")], upstreamModel: "alpha"),
                       ScriptedBackendSpec(name: "b", scripts: [Script([.readBody, .head(200, sse, contentLength: nil), .body(events),
                                                                        .end(.completed, TokenUsage())])],
                                           upstreamModel: "beta-model")],
            models: [("m", [0, 1], 2)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: request)
        let reply = try client.response()
        #expect(reply.status == 200 && reply.complete)
        let calls = server.log.snapshot
        try #require(calls.count == 2)
        let expected = { (model: String) in
            Array(#"{"model":"\#(model)","stream":true,"messages":[{"role":"user","content":"\#(content)"}],"stream_options":{"include_usage":true}}"#.utf8)
        }
        #expect(calls[0].body == expected("alpha"))
        #expect(calls[1].body == expected("beta-model"))
        #expect(calls[0].bodyEnded && calls[1].bodyEnded)
        #expect(calls[1].bodyLength == expected("beta-model").count)
        #expect(calls.map(\.upstreamModel) == ["alpha", "beta-model"])
    }

    // MARK: - Re-entry (issue 7 item 5)

    @Test func aReportForAnAbandonedAttemptIsIgnored() throws {
        // a misses its first-byte timeout (100 ms), ignores the cancel and reports at 300 ms; b,
        // started at ~100 ms, answers at ~600 ms. Timers fire in deadline order on the loop.
        let stale = Script([.ignoreCancel, .wait(ms: 300), .head(200, json, contentLength: 5), .body("stale"),
                            .end(.completed, TokenUsage(promptTokens: 99, completionTokens: 99))])
        let fresh = Script([.readBody, .wait(ms: 500), .head(200, json, contentLength: 5), .body("fresh"),
                            .end(.completed, TokenUsage(promptTokens: 1, completionTokens: 2))])
        let server = try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "a", scripts: [stale], firstByteTimeoutMs: 100),
                       ScriptedBackendSpec(name: "b", scripts: [fresh])],
            models: [("m", [0, 1], 2)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        let reply = try client.response()
        #expect(reply.status == 200 && reply.text == "fresh")
        let record = try #require(server.records.wait(for: 1).first)
        #expect(record.backend == "b" && record.attempts == 2)
        #expect(record.promptTokens == 1 && record.completionTokens == 2)
        let calls = server.log.snapshot
        #expect(calls[0].cancels == 1)
        #expect(calls[0].reportsAfterCancel == 3)          // head, body, end: all dropped
        #expect(calls[0].bodyAnswers == [false])
        #expect(calls[0].callsAfterCancel == 0)
    }

    @Test func firstByteTimeoutsFireOnTimeAroundTheWatchTick() throws {
        // a's 1 ms clock runs out before FirstByteWatch's 50 ms tick, which is set at that
        // deadline and times a out itself; b's 150 ms clock outlives the tick, gets its own
        // timer and runs out too; c answers. Neither waits for a's 2 s or b's 3 s.
        let slowA = Script([.readBody, .waitForCancel])
        let slowB = Script([.readBody, .wait(ms: 3_000), .head(200, json, contentLength: 4), .body("late"),
                            .end(.completed, TokenUsage())])
        let server = try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "a", scripts: [slowA], firstByteTimeoutMs: 1),
                       ScriptedBackendSpec(name: "b", scripts: [slowB], firstByteTimeoutMs: 150),
                       ScriptedBackendSpec(name: "c", scripts: [ok("done", usage: TokenUsage(promptTokens: 1, completionTokens: 1))])],
            models: [("m", [0, 1, 2], 3)])
        defer { server.stop() }
        let started = ContinuousClock.now
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        let reply = try client.response()
        #expect(reply.status == 200 && reply.text == "done")
        #expect(ContinuousClock.now - started < .milliseconds(1_500))
        let record = try #require(server.records.wait(for: 1).first)
        #expect(record.backend == "c" && record.attempts == 3)
        let calls = server.log.snapshot
        #expect(calls[0].cancels == 1 && calls[1].cancels == 1)
    }

    @Test func anAdapterEndingInsideInvokeIsNeverTakenForTheLiveAttempt() throws {
        let server = try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "a", scripts: [Script([], endsInsideInvoke: .connectFailed("refused at once"))]),
                       ScriptedBackendSpec(name: "b", scripts: [refused]),
                       ScriptedBackendSpec(name: "c", scripts: [ok("done")])],
            models: [("m", [0, 1, 2], 3)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        let reply = try client.response()
        #expect(reply.status == 200 && reply.text == "done")
        let calls = server.log.snapshot
        #expect(calls.map(\.backend) == ["a", "b", "c"])
        // a's call ended its attempt before `invoke` returned: the call is stopped, not stored.
        #expect(calls[0].cancels == 1)
        // b failed at once the right way (from the loop): nothing to stop.
        #expect(calls[1].cancels == 0 && calls[2].cancels == 0)
        #expect(try #require(server.records.wait(for: 1).first).attempts == 3)
    }

    // MARK: - Client abort

    @Test func aClientThatHangsUpCancelsTheCallOnceAndHearsNothingMore() throws {
        let script = Script([.readBody, .ignoreCancel, .head(200, sse, contentLength: nil),
                             .body("data: {\"choices\":[{\"delta\":{\"content\":\"first\"}}]}\n\n"),
                             .waitForCancel,
                             .body("data: {\"choices\":[{\"delta\":{\"content\":\"late\"}}]}\n\n"),
                             .end(.completed, TokenUsage(promptTokens: 7, completionTokens: 7))])
        let server = try ProxyTestServer(backends: [ScriptedBackendSpec(name: "a", scripts: [script])], models: [("m", [0], 1)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat(stream: true))
        _ = try client.read(until: "first")
        client.hangUp()
        #expect(eventually { server.log.snapshot.first?.reportsAfterCancel == 2 })
        let call = try #require(server.log.snapshot.first)
        #expect(call.cancels == 1)
        #expect(call.callsAfterCancel == 0)
        #expect(call.bodyAnswers == [true, false])
        let records = server.records.wait(for: 1)
        #expect(records.count == 1)
        #expect(records.first?.error == "client_closed")
        #expect(records.first?.promptTokens == nil)   // the late end was not listened to
    }

    // MARK: - SSE splice

    @Test func theStreamGetsItsMeteringCommentBeforeDoneAndUsageOnlyWhenAsked() throws {
        let chunk = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"
        let usage = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":6}}\n\n"
        let done = "data: [DONE]\n\n"
        // Events cut across pieces: the framer passes on whole events only.
        let script = Script([.readBody, .head(200, sse + [("cache-control", "no-store")], contentLength: nil),
                             .body(String(chunk.prefix(20))), .body(String(chunk.dropFirst(20)) + String(usage.prefix(30))),
                             .body(String(usage.dropFirst(30)) + "data: [DO"), .body("NE]\n\n"),
                             .end(.completed, TokenUsage(promptTokens: 4, completionTokens: 6))])
        let server = try ProxyTestServer(backends: [ScriptedBackendSpec(name: "a", scripts: [script],
                                                                        costModel: .perRequest(MicroDollars(2_500)))],
                                         models: [("m", [0], 1)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat(stream: true))
        let plain = try client.response()
        #expect(plain.status == 200 && plain.complete)
        #expect(plain.header("content-type") == "text/event-stream")
        #expect(plain.header("cache-control") == "no-cache")
        let comment = ": tollgate {\"gpu_seconds\":"
        #expect(plain.text.hasPrefix(chunk + comment))
        #expect(plain.text.hasSuffix(",\"cost_usd\":0.002500,\"backend\":\"a\"}\n\n" + done))
        #expect(!plain.text.contains("usage"))
        // The comment's figures are the row's.
        let first = try #require(server.records.wait(for: 1).first)
        #expect(plain.text.contains(comment + first.gpu.secondsText + ",\"cost_usd\":" + first.cost.description + ","))

        client.post(body: ProxyTestServer.chat(stream: true, extra: #","stream_options":{"include_usage":true}"#))
        let asked = try client.response()
        #expect(asked.text.hasPrefix(chunk + usage + comment))
        #expect(asked.text.hasSuffix(done))

        let calls = server.log.snapshot
        #expect(calls.allSatisfy { String(decoding: $0.body, as: UTF8.self).contains(#""stream_options":{"include_usage":true}"#) })
        let records = server.records.wait(for: 2)
        #expect(records.map(\.promptTokens) == [4, 4])
        #expect(records.allSatisfy { $0.cost == MicroDollars(2_500) })
    }

    // MARK: - Declared length

    /// Model `m` on backend `a` running `held` (a reply small enough to be held), model `big`
    /// on backend `big` running `big` (one declared past the held-reply limit).
    private static func heldAndBig(_ held: Script, _ big: Script) throws -> ProxyTestServer {
        try ProxyTestServer(backends: [ScriptedBackendSpec(name: "a", scripts: [held]),
                                       ScriptedBackendSpec(name: "big", scripts: [big])],
                            models: [("m", [0], 1), ("big", [1], 1)])
    }

    /// A reply small enough to be held for its figures is all here before its head leaves: one
    /// that ends short becomes a clean 502. A larger one (its head left with its first byte)
    /// can only be cut.
    @Test func aReplyShorterThanItsContentLengthIsCutNotCompleted() throws {
        let big = ResponseRelay.heldReplyLimit + 100
        let server = try Self.heldAndBig(
            Script([.readBody, .head(200, json, contentLength: 100), .body(String(repeating: "x", count: 40)),
                    .wait(ms: 20), .end(.completed, TokenUsage())]),
            // The end in a later loop pass: an abort in the same pass drops what is still queued.
            Script([.readBody, .head(200, json, contentLength: big), .body(String(repeating: "x", count: 40)),
                    .wait(ms: 20), .end(.completed, TokenUsage())]))
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        let held = try client.response()
        #expect(held.status == 502 && held.text.contains("shorter than its Content-Length"))
        #expect(server.records.wait(for: 1).first?.error == "bad_gateway")

        client.post(body: ProxyTestServer.chat(model: "big"))
        let reply = try client.response()
        #expect(reply.status == 200 && reply.header("content-length") == "\(big)")
        #expect(reply.body.count == 40 && !reply.complete)
        #expect(server.records.wait(for: 2).last?.error == "backend_length_mismatch")
    }

    @Test func aReplyLongerThanItsContentLengthIsCutAtTheLength() throws {
        let big = ResponseRelay.heldReplyLimit + 10
        let server = try Self.heldAndBig(
            Script([.readBody, .head(200, json, contentLength: 10), .body(String(repeating: "y", count: 40)),
                    .end(.completed, TokenUsage())]),
            Script([.readBody, .head(200, json, contentLength: big), .body(String(repeating: "y", count: big + 30)),
                    .end(.completed, TokenUsage())]))
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        let held = try client.response()
        #expect(held.status == 502 && held.text.contains("longer than its Content-Length"))
        #expect(server.records.wait(for: 1).first?.error == "backend_length_mismatch")

        let second = try RawClient(port: server.port)
        second.post(body: ProxyTestServer.chat(model: "big"))
        let reply = try second.response()
        // Never past the length (the abort may drop what the connection still held).
        #expect(reply.status == 200 && reply.body.count <= big)
        #expect(second.isClosedByServer())
        #expect(server.records.wait(for: 2).last?.error == "backend_length_mismatch")
    }

    @Test func aReplyThatBreaksBeforeItsFirstByteFailsOverCleanly() throws {
        let empty = Script([.readBody, .head(200, json, contentLength: 100), .end(.completed, TokenUsage())])
        let server = try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "a", scripts: [empty]), ScriptedBackendSpec(name: "b", scripts: [ok("whole")])],
            models: [("m", [0, 1], 2), ("only-a", [0], 1)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        let reply = try client.response()
        #expect(reply.status == 200 && reply.text == "whole")
        client.post(body: ProxyTestServer.chat(model: "only-a"))
        let failed = try client.response()
        #expect(failed.status == 502)
        #expect(failed.text.contains("shorter than its Content-Length"))
    }
}
