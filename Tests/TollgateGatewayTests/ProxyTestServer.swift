// SPDX-License-Identifier: Apache-2.0
// Boots the gateway's HTTP server and responder on 127.0.0.1 port 0 with a plan whose backends
// are ScriptedBackends, and a small blocking client to talk to it (reads have a deadline, so
// nothing hangs). The usage records the responder produces are kept for the test.
// The client is local to these tests until Tests/TollgateTestSupport holds the shared one.
import CLinux
import Glibc
import Synchronization
import TollgateBackends
@testable import TollgateGateway
import TollgateHTTP
import TollgateIO
import TollgateMetering
import TollgateUpstream
import TollgateCore
import TollgateTestSupport
import TollgateLimits

/// The usage records, for the test thread.
final class RecordLog: UsageSink, Sendable {
    private let records = Mutex<[UsageRecord]>([])
    func record(_ record: UsageRecord) { records.withLock { $0.append(record) } }
    var snapshot: [UsageRecord] { records.withLock { $0 } }

    /// Waits (polling, bounded) until `count` records arrived.
    func wait(for count: Int, seconds: Double = 5) -> [UsageRecord] {
        _ = eventually(seconds) { self.snapshot.count >= count }
        return snapshot
    }
}

struct ScriptedBackendSpec: Sendable {
    var name: String
    var scripts: [Script]
    /// `.openai`: the gateway asks it for streamed usage (the include_usage edit).
    var speaksOpenAI = true
    var upstreamModel: String?
    var firstByteTimeoutMs: UInt64 = 5_000
    var costModel: CostModel = .free
    var billColdStart = false
    /// The router's settings (max_concurrency, circuit, cold start, …).
    var routing = BackendRouting()
    var expectedRunMs: Int64 = 1_000
}

final class ProxyTestServer: Sendable {
    static let key = "tg-proxy-exchange-test-key"

    let group: EventLoopGroup
    let server: HTTPServer
    let port: UInt16
    let log = ScriptLog()
    let records = RecordLog()
    /// The plan every loop serves (its board: the router's live state).
    let plan: GatewayPlan

    /// `models`: name → (backend indices in order, attempts).
    convenience init(backends: [ScriptedBackendSpec], models: [(String, [Int], Int)], secrets: [String] = [],
                     maxBuffered: Int = 64 << 20) throws {
        try self.init(backends: backends, modelPlans: models.map { ModelPlan(name: $0.0, task: .chat, backends: $0.1, attempts: $0.2) },
                      secrets: secrets, maxBuffered: maxBuffered)
    }

    /// The models as whole plans (max_latency, queue_timeout).
    init(backends: [ScriptedBackendSpec], modelPlans: [ModelPlan], secrets: [String] = [],
         maxBuffered: Int = 64 << 20) throws {
        let plan = GatewayPlan(
            backends: backends.map { spec in
                BackendPlan(name: spec.name,
                            kind: ScriptedKind(),
                            upstreamModel: spec.upstreamModel, firstByteTimeoutNs: spec.firstByteTimeoutMs * 1_000_000,
                            costModel: spec.costModel, billColdStart: spec.billColdStart,
                            expectedRunMs: spec.expectedRunMs, routing: spec.routing)
            },
            models: modelPlans,
            users: [UserPlan(name: "tester", allowedModels: nil)],
            keys: [KeyPlan(digest: SHA256.hash(utf8: Self.key), user: 0, keyID: "testkey1")],
            secrets: secrets)
        self.plan = plan
        var options = HTTPServerOptions()
        options.port = 0
        options.workers = 1
        group = try EventLoopGroup(count: 1)
        Curl.initialize()
        let budget = RequestBodyBudget(capacity: maxBuffered)
        let share = CurlShare()
        let (log, records) = (self.log, self.records)
        server = try HTTPServer(group: group, options: options) { loop in
            let responder = GatewayResponder(loop: loop, state: GatewayState(), routes: RouteTable(), plan: plan, sink: records,
                                             bodyBudget: budget, curlShare: share)
            for (index, spec) in backends.enumerated() {
                responder.context.runtime.install(ScriptedBackend(name: spec.name, scripts: spec.scripts, speaksOpenAI: spec.speaksOpenAI, loop: loop, log: log),
                                                  at: index)
            }
            return responder
        }
        group.start()
        port = try server.start().port
    }

    func stop() {
        server.drain(timeout: 2_000_000_000)
        group.stop()
        group.join()
    }

    /// A chat request's body.
    static func chat(model: String = "m", stream: Bool = false, extra: String = "") -> String {
        #"{"model":"\#(model)","stream":\#(stream),"messages":[{"role":"user","content":"hello"}]\#(extra)}"#
    }
}

extension RawClient {
    /// Sends a POST with the test key.
    func post(_ path: String = "/v1/chat/completions", body: String) {
        let bytes = Array(body.utf8)
        let head = "POST \(path) HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(ProxyTestServer.key)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(bytes.count)\r\n\r\n"
        send(Array(head.utf8) + bytes)
    }

    /// Reads one whole response; a body cut by a close comes back with `complete` false.
    func response() throws -> RawResponse { try readResponse(toleratingCut: true) }
}

/// The plan's kind for a scripted backend: its adapter is replaced by a ScriptedBackend on the
/// loop before any request, so the one built here is never invoked.
struct ScriptedKind: BackendKind {
    func makeAdapter(on loop: BackendLoop) -> any BackendAdapter {
        ScriptedBackend(name: "placeholder", scripts: [], speaksOpenAI: true, loop: loop.eventLoop, log: ScriptLog())
    }
}
