// SPDX-License-Identifier: Apache-2.0
// HealthProbe on a real loop against real loopback peers playing a backend with a /health path,
// a RunPod endpoint and the Hub: each verdict, the credential going only where it belongs, the
// time and size bounds, completion exactly once and never inside `start`, nothing sent for a
// target that cannot be probed — and no probe ever reaching an inference route (each peer
// counts every request it gets).
import Synchronization
import Testing
import TollgateTestSupport
import TollgateUpstream
import TollgateBackends

struct HealthProbeTests {
    private func endpoint(_ base: String, key: String? = "backend-key", connectMs: Int = 2_000) -> BackendEndpoint {
        BackendEndpoint(name: "b", baseURL: base, apiKey: key, connectTimeoutMs: connectMs, totalTimeoutMs: 5_000)
    }

    private func probe(_ target: ProbeTarget, _ endpoint: BackendEndpoint, hub: HubEndpoint = HubEndpoint(baseURL: "http://127.0.0.1:9"),
                       timeoutMs: Int = 5_000) throws -> HealthRun<ProbeVerdict> {
        let run: HealthRun<ProbeVerdict> = try healthRun { loop, done in
            HealthProbe.start(target, endpoint: endpoint, hub: hub, on: loop, timeoutMs: timeoutMs, completion: done)
        }
        #expect(run.values.count == 1 && !run.insideStart && run.returnedCall)
        return run
    }

    @Test func aPathProbeIsUpOn2xxAndDownOtherwise() throws {
        let peer = try HealthTestPeer { request in
            switch request.path {
            case "/health": return .json(200, "{}")
            case "/broken": return .json(503, #"{"error":"loading"}"#)
            default: return .json(500, "inference route hit")
            }
        }
        defer { peer.stop() }
        #expect(try probe(.path("/health"), endpoint(peer.url)).only == .up(warm: nil))
        #expect(try probe(.path("/broken"), endpoint(peer.url + "/")).only == .down("health probe answered HTTP 503"))
        let requests = peer.requests
        #expect(requests.map(\.path) == ["/health", "/broken"] && requests.allSatisfy { $0.method == "GET" })
        // Its own origin: the backend's key goes along.
        #expect(requests.allSatisfy { $0.authorization == "Bearer backend-key" })
    }

    @Test func aPathOffTheOriginIsNeverSent() throws {
        let peer = try HealthTestPeer { _ in .json(200, "{}") }
        defer { peer.stop() }
        let other = try HealthTestPeer { _ in .json(200, "{}") }
        defer { other.stop() }
        for path in ["//127.0.0.1:\(other.port)/health", "\(other.url)/health", "health"] {
            guard case .down(let text)? = try probe(.path(path), endpoint(peer.url)).only else {
                Issue.record("\(path) not down")
                continue
            }
            #expect(text == "health path is not a path on the backend's origin")
        }
        #expect(peer.requests.isEmpty && other.requests.isEmpty)
    }

    @Test func anUnreachableSlowOrHugeBackendIsDownWithinTheTimeout() throws {
        let peer = try HealthTestPeer { request in request.path == "/big" ? .big(1 << 20) : .hang }
        defer { peer.stop() }
        guard case .down(let refused)? = try probe(.path("/health"), endpoint("http://127.0.0.1:9")).only else {
            Issue.record("refused not down")
            return
        }
        #expect(refused.hasPrefix("health probe failed: connect failed"))
        let slow = try probe(.path("/health"), endpoint(peer.url), timeoutMs: 300)
        guard case .down(let late)? = slow.only else { Issue.record("hang not down"); return }
        #expect(late.hasPrefix("health probe failed: timed out"))
        #expect(slow.elapsedMs >= 250 && slow.elapsedMs < 3_000)
        #expect(eventually { peer.clientCloses == 1 })
        #expect(try probe(.path("/big"), endpoint(peer.url)).only == .down("health probe failed: response too large"))
    }

    @Test func aRunPodProbeReadsHealthAndNothingElse() throws {
        let answer = HealthScript(#"{"jobs":{"completed":1,"failed":0,"inProgress":0,"inQueue":0,"retried":0},"workers":{"idle":0,"running":0,"ready":2}}"#)
        let peer = try HealthTestPeer { request in
            request.path == "/v2/ep/health" ? answer.reply : .json(500, "inference route hit")
        }
        defer { peer.stop() }
        let rp = endpoint(peer.url + "/v2/ep/", key: "rp-key")
        #expect(try probe(.runpod, rp).only == .up(warm: true))
        answer.set(#"{"jobs":{"inQueue":3},"workers":{"idle":0,"running":0}}"#)
        #expect(try probe(.runpod, rp).only == .up(warm: false))
        answer.set(#"{"jobs":{"inQueue":3},"workers":{"unhealthy":2}}"#)
        #expect(try probe(.runpod, rp).only == .down("RunPod has no usable worker (unhealthy 2, throttled 0, in queue 3)"))
        answer.set(#"{"jobs":{}}"#)
        #expect(try probe(.runpod, rp).only == .down("RunPod /health answered without job and worker counts"))
        answer.set(#"{"error":"Unauthorized"}"#, status: 401)
        #expect(try probe(.runpod, rp).only == .down("RunPod /health answered HTTP 401"))
        let requests = peer.requests
        #expect(requests.count == 5 && requests.allSatisfy { $0.method == "GET" && $0.path == "/v2/ep/health" })
        #expect(requests.allSatisfy { $0.authorization == "Bearer rp-key" })
    }

    @Test func aHubProbeAsksTheHubWithTheTokenAndNeverTheSpace() throws {
        let stage = HealthScript(#"{"stage":"RUNNING"}"#)
        let hubPeer = try HealthTestPeer { request in
            request.path == "/api/spaces/owner/my-space/runtime" ? stage.reply : .json(404, #"{"error":"Repository not found"}"#)
        }
        defer { hubPeer.stop() }
        // The Space itself: a probe must not visit it (a visit wakes a sleeping Space).
        let space = try HealthTestPeer { _ in .json(500, "the Space was visited") }
        defer { space.stop() }
        let hub = HubEndpoint(baseURL: hubPeer.url + "/")
        let hf = endpoint(space.url, key: "hf_TOKEN")
        let cases: [(String, ProbeVerdict)] = [
            (#"{"stage":"RUNNING"}"#, .up(warm: true)), (#"{"stage":"SLEEPING"}"#, .asleep),
            (#"{"stage":"PAUSED"}"#, .paused), (#"{"stage":"APP_STARTING"}"#, .starting),
            (#"{"stage":"BUILD_ERROR","errorMessage":"bad requirements"}"#, .down("Space stage BUILD_ERROR: bad requirements")),
            (#"{"stage":"SOMETHING_NEW"}"#, .down("Space stage \"SOMETHING_NEW\" is not known")),
        ]
        for (body, verdict) in cases {
            stage.set(body)
            #expect(try probe(.hubRuntime(space: "owner/my-space"), hf, hub: hub).only == verdict)
        }
        guard case .down(let missing)? = try probe(.hubRuntime(space: "owner/other"), hf, hub: hub).only else {
            Issue.record("404 not down")
            return
        }
        #expect(missing.hasPrefix("Hub runtime answered HTTP 404") && !missing.contains("hf_TOKEN"))
        let requests = hubPeer.requests
        #expect(requests.count == cases.count + 1)
        #expect(requests.allSatisfy { $0.method == "GET" && $0.authorization == "Bearer hf_TOKEN" })
        #expect(space.requests.isEmpty)
    }

    @Test func aHubProbeThatCannotBeMadeSendsNothing() throws {
        let hubPeer = try HealthTestPeer { _ in .json(200, #"{"stage":"RUNNING"}"#) }
        defer { hubPeer.stop() }
        let hf = endpoint("http://127.0.0.1:9", key: "hf_TOKEN")
        #expect(try probe(.hubRuntime(space: "owner/../../admin"), hf, hub: HubEndpoint(baseURL: hubPeer.url)).only
                == .down("space is not a Hub id (owner/name)"))
        #expect(try probe(.hubRuntime(space: "owner/s"), hf, hub: HubEndpoint(baseURL: "ftp://\(hubPeer.port)")).only
                == .down("the Hub endpoint (HF_ENDPOINT) is not an http(s) URL"))
        #expect(hubPeer.requests.isEmpty)
    }

    @Test func aCancelledProbeNeverCompletes() throws {
        let peer = try HealthTestPeer { _ in .hang }
        defer { peer.stop() }
        let box = HealthRunBox<ProbeVerdict>()
        try withRunningLoop { loop in
            loop.execute {
                let backendLoop = BackendLoop(loop: loop, curlShare: CurlShare())
                box.keep.append(backendLoop)
                let call = HealthProbe.start(.path("/health"), endpoint: endpoint(peer.url), hub: HubEndpoint(baseURL: peer.url),
                                             on: backendLoop, timeoutMs: 200) { verdict in
                    box.values.append(verdict)
                    box.count.add(1, ordering: .releasing)
                }
                box.keep.append(call)
            }
            #expect(eventually { peer.requests.count == 1 })
            loop.execute { (box.keep.last as? BufferedCall)?.cancel() }
            // Well past the 200 ms timeout: nothing arrives.
            let later = LaterFlag()
            loop.execute { loop.schedule(later, at: loop.now + 400_000_000) }
            #expect(eventually { later.fired })
        }
        #expect(box.count.load(ordering: .acquiring) == 0)
    }
}

/// A reply the test changes between probes.
final class HealthScript: Sendable {
    private let state: Mutex<HealthPeerReply>
    init(_ body: String, status: Int = 200) { state = Mutex(.json(status, body)) }
    func set(_ body: String, status: Int = 200) { state.withLock { $0 = .json(status, body) } }
    var reply: HealthPeerReply { state.withLock { $0 } }
}
