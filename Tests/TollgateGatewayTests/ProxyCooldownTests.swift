// SPDX-License-Identifier: Apache-2.0
// A backend whose call ends "quota exhausted until T" is skipped by later requests until then
// (SPEC §3), and the 503 `no_backend_available` names it with its reason.
import Testing
import TollgateTestSupport
import TollgateBackends
@testable import TollgateGateway
import TollgateCore

@Suite(.serialized)
struct ProxyCooldownTests {
    @Test func aSpentQuotaKeepsTheBackendOutAndNamesItInThe503() throws {
        let answer = #"{"answer":1}"#
        let ok = Script([.readBody, .head(200, [("content-type", "application/json")], contentLength: answer.utf8.count),
                         .body(answer), .end(.completed, TokenUsage())])
        // No stated reset: the default cool-down applies (a minute, longer than this test).
        let spent = Script([.readBody, .end(.quotaExhausted("ZeroGPU quota exceeded, retry in 0:01:00", until: nil), TokenUsage())])
        let server = try ProxyTestServer(
            backends: [ScriptedBackendSpec(name: "space", scripts: [spent]),
                       ScriptedBackendSpec(name: "runpod", scripts: [ok])],
            models: [("m", [0, 1], 2), ("only-space", [0], 1)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)

        // The first request finds the quota spent and fails over.
        client.post(body: ProxyTestServer.chat())
        let first = try client.response()
        #expect(first.status == 200 && first.header("x-tollgate-backend") == "runpod")

        // The next one does not ask the space again.
        client.post(body: ProxyTestServer.chat())
        let second = try client.response()
        #expect(second.status == 200 && second.header("x-tollgate-backend") == "runpod")
        #expect(server.log.snapshot.map(\.backend) == ["space", "runpod", "runpod"])

        // A model with no other candidate: 503 with the reason, and still no call.
        client.post(body: ProxyTestServer.chat(model: "only-space"))
        let refused = try client.response()
        #expect(refused.status == 503)
        #expect(refused.text.contains("\"code\":\"no_backend_available\""))
        #expect(refused.text.contains("space: ZeroGPU quota exceeded, retry in 0:01:00 (cooling down for "))
        #expect(server.log.snapshot.count == 3)
    }
}
