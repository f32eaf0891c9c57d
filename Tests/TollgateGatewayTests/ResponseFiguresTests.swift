// SPDX-License-Identifier: Apache-2.0
// Issue 9 items 2 and 4: what a proxied response says it cost is what its usage row records.
// A plain reply up to 8 MiB is held until its attempt ended, so its head carries the final
// `x-tollgate-gpu-seconds` and `x-tollgate-cost-usd`; larger replies, and replies the memory
// budget cannot hold, stream without them. GPU time is the backend's figure where it reports
// one, else the measured span less the reported queue and cold start; `bill_cold_start`
// prices the wait too.
import Testing
import TollgateTestSupport
import TollgateBackends
@testable import TollgateGateway
import TollgateCore

private let json = [("content-type", "application/json")]

@Suite(.serialized)
struct ResponseFiguresTests {
    /// $3.60 an hour: one micro-dollar per millisecond, so costs read as times.
    private let hourly = CostModel.alwaysOn(perHour: MicroDollars(3_600_000))

    /// Models `plain` and `billed`, each on its own backend running `script` at `hourly`; only
    /// `billed`'s backend has `bill_cold_start`.
    private func plainAndBilled(_ script: Script) throws -> ProxyTestServer {
        try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "plain", scripts: [script], costModel: hourly),
                       ScriptedBackendSpec(name: "billed", scripts: [script], costModel: hourly, billColdStart: true)],
            models: [("plain", [0], 1), ("billed", [1], 1)])
    }

    @Test func aPlainReplyCarriesTheFiguresOfItsRow() throws {
        let text = #"{"answer":42}"#
        let script = Script([.readBody, .head(200, json, contentLength: text.utf8.count), .body(text), .wait(ms: 30),
                             .end(.completed, TokenUsage())])
        let server = try ProxyTestServer(backends: [ScriptedBackendSpec(name: "a", scripts: [script], costModel: hourly)],
                                         models: [("m", [0], 1)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        let reply = try client.response()
        #expect(reply.status == 200 && reply.text == text)
        let record = try #require(server.records.wait(for: 1).first)
        #expect(record.gpu.value >= 30)
        #expect(record.cost == MicroDollars(record.gpu.value))  // always_on attributes its share
        #expect(reply.header("x-tollgate-gpu-seconds") == record.gpu.secondsText)
        #expect(reply.header("x-tollgate-cost-usd") == record.cost.description)
        #expect(reply.header("content-length") == "\(text.utf8.count)")
    }

    /// A chunked plain reply is held too, and goes out with its now known length.
    @Test func aReplyOfUnknownLengthIsHeldAndGetsItsLength() throws {
        let script = Script([.readBody, .head(200, json, contentLength: nil), .body("{\"a\":"), .wait(ms: 5), .body("1}"),
                             .end(.completed, TokenUsage())])
        let server = try ProxyTestServer(backends: [ScriptedBackendSpec(name: "a", scripts: [script],
                                                                        costModel: .perRequest(MicroDollars(1_500)))],
                                         models: [("m", [0], 1)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        let reply = try client.response()
        #expect(reply.status == 200 && reply.text == "{\"a\":1}")
        #expect(reply.header("content-length") == "7")
        #expect(reply.header("x-tollgate-cost-usd") == "0.001500")
        let record = try #require(server.records.wait(for: 1).first)
        #expect(reply.header("x-tollgate-gpu-seconds") == record.gpu.secondsText)
    }

    /// Over 8 MiB (declared, or found while holding) the reply streams: no figures, every byte.
    @Test func aReplyOverTheLimitStreamsWithoutFigures() throws {
        let size = ResponseRelay.heldReplyLimit + 1
        let payload = String(repeating: "z", count: size)
        let declared = Script([.readBody, .head(200, json, contentLength: size), .body(payload), .end(.completed, TokenUsage())])
        let chunked = Script([.readBody, .head(200, json, contentLength: nil), .body(String(payload.prefix(1 << 20))),
                              .body(String(payload.dropFirst(1 << 20))), .end(.completed, TokenUsage())])
        let server = try ProxyTestServer(backends: [ScriptedBackendSpec(name: "a", scripts: [declared, chunked], costModel: hourly)],
                                         models: [("m", [0], 1)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        for _ in 0..<2 {
            client.post(body: ProxyTestServer.chat())
            let reply = try client.response()
            #expect(reply.status == 200 && reply.complete && reply.body.count == size)
            #expect(reply.header("x-tollgate-gpu-seconds") == nil && reply.header("x-tollgate-cost-usd") == nil)
        }
        #expect(server.records.wait(for: 2).allSatisfy { $0.error == nil && $0.status == 200 })
    }

    /// The held bytes count against `server.max_buffered`: with no room the reply streams
    /// (complete, without figures) rather than growing the gateway.
    @Test func aReplyTheMemoryBudgetCannotHoldStreams() throws {
        let size = 3 << 20
        let script = Script([.readBody, .head(200, json, contentLength: size), .body(String(repeating: "q", count: size)),
                             .end(.completed, TokenUsage())])
        let server = try ProxyTestServer(backends: [ScriptedBackendSpec(name: "a", scripts: [script])],
                                         models: [("m", [0], 1)], maxBuffered: 2 << 20)
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        let reply = try client.response()
        #expect(reply.status == 200 && reply.complete && reply.body.count == size)
        #expect(reply.header("x-tollgate-cost-usd") == nil)
    }

    /// Held until the end, a reply that breaks midway never reached the client: the next
    /// candidate answers instead of a cut 200.
    @Test func aHeldReplyThatBreaksFailsOverToTheNextCandidate() throws {
        let broken = Script([.readBody, .head(200, json, contentLength: nil), .body("{\"partial\":"),
                             .end(.broken("connection reset"), TokenUsage())])
        let server = try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "a", scripts: [broken], costModel: .perRequest(MicroDollars(7))),
                       ScriptedBackendSpec(name: "b", scripts: [Script([.readBody, .head(200, json, contentLength: 6), .body("{\"b\":1"),
                                                                        .end(.completed, TokenUsage())])],
                                           costModel: .perRequest(MicroDollars(100)))],
            models: [("m", [0, 1], 2)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat())
        let reply = try client.response()
        #expect(reply.status == 200 && reply.text == "{\"b\":1" && reply.header("x-tollgate-backend") == "b")
        // Both attempts ran on their GPUs, so both are in the figures, as in the row.
        #expect(reply.header("x-tollgate-cost-usd") == "0.000107")
        #expect(server.records.wait(for: 1).first?.cost == MicroDollars(107))
    }

    /// A job platform's own figures: GPU-seconds are its run time; `bill_cold_start` adds the
    /// reported queue and cold start to what is priced, never to the GPU-seconds.
    @Test func reportedTimesAndBillColdStart() throws {
        let report = BackendReport(outcome: .completed, gpuTime: .reported(MilliGPUSeconds(2_000)),
                                   queueTime: .milliseconds(500), coldStartTime: .milliseconds(1_500))
        let script = Script([.readBody, .head(200, json, contentLength: 2), .body("{}"), .report(report)])
        let server = try plainAndBilled(script)
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat(model: "plain"))
        let plain = try client.response()
        client.post(body: ProxyTestServer.chat(model: "billed"))
        let billed = try client.response()
        #expect(plain.header("x-tollgate-gpu-seconds") == "2.000" && plain.header("x-tollgate-cost-usd") == "0.002000")
        #expect(billed.header("x-tollgate-gpu-seconds") == "2.000" && billed.header("x-tollgate-cost-usd") == "0.004000")
        let records = server.records.wait(for: 2)
        #expect(records.map(\.gpu) == [MilliGPUSeconds(2_000), MilliGPUSeconds(2_000)])
        #expect(records.map(\.cost) == [MicroDollars(2_000), MicroDollars(4_000)])
        #expect(records.allSatisfy { $0.coldStart && $0.queueMs == 500 })
    }

    /// Measured GPU time is the attempt's span less the cold start the backend reported (the
    /// GPU did not run while it woke); with bill_cold_start the cost prices the whole span.
    @Test func aMeasuredSpanLeavesTheReportedColdStartOut() throws {
        let report = BackendReport(outcome: .completed, coldStartTime: .milliseconds(200))
        let script = Script([.readBody, .wait(ms: 250), .head(200, json, contentLength: 2), .body("{}"), .report(report)])
        let server = try plainAndBilled(script)
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.post(body: ProxyTestServer.chat(model: "plain"))
        _ = try client.response()
        client.post(body: ProxyTestServer.chat(model: "billed"))
        _ = try client.response()
        let records = server.records.wait(for: 2)
        for record in records {
            let spanMs = Int64((record.upstreamSeconds * 1_000).rounded(.up))
            #expect(record.gpu.value >= 45 && record.gpu.value <= spanMs - 199, "\(record.gpu) of \(spanMs) ms")
        }
        #expect(records[0].cost == MicroDollars(records[0].gpu.value))
        #expect(records[1].cost == MicroDollars(records[1].gpu.value + 200))
    }
}
