// SPDX-License-Identifier: Apache-2.0
// IdleCalls on a real loop against loopback peers playing the Hub and a pod API: a Space paused
// with POST /api/spaces/{id}/pause and woken with POST …/restart carrying the backend's token
// to the Hub only; an `http` action sent exactly as configured (method, URL with query, its own
// headers — never the backend's key) with no wake call; failures, timeouts and refusals as
// `.failed` texts without a credential; completion exactly once, never inside the call.
import Testing
import TollgateTestSupport
import TollgateBackends

struct HealthIdleCallsTests {
    private func endpoint(_ base: String, key: String? = "hf_TOKEN") -> BackendEndpoint {
        BackendEndpoint(name: "b", baseURL: base, apiKey: key, connectTimeoutMs: 2_000, totalTimeoutMs: 5_000)
    }

    private func pause(_ call: IdleCall, _ endpoint: BackendEndpoint, hub: HubEndpoint, timeoutMs: Int = 5_000) throws -> HealthRun<IdleCallResult> {
        let run: HealthRun<IdleCallResult> = try healthRun { loop, done in
            IdleCalls.pause(call, endpoint: endpoint, hub: hub, on: loop, timeoutMs: timeoutMs, completion: done)
        }
        #expect(run.values.count == 1 && !run.insideStart && run.returnedCall)
        return run
    }

    private func wake(_ call: IdleCall, _ endpoint: BackendEndpoint, hub: HubEndpoint) throws -> HealthRun<IdleCallResult> {
        let run: HealthRun<IdleCallResult> = try healthRun { loop, done in
            IdleCalls.wake(call, endpoint: endpoint, hub: hub, on: loop, timeoutMs: 5_000, completion: done)
        }
        #expect(run.values.count == 1 && !run.insideStart)
        return run
    }

    @Test func aSpaceIsPausedAndRestartedThroughTheHub() throws {
        let hubPeer = try HealthTestPeer { request in
            switch (request.method, request.path) {
            case ("POST", "/api/spaces/owner/s1/pause"): return .json(200, #"{"stage":"PAUSED"}"#)
            case ("POST", "/api/spaces/owner/s1/restart"): return .json(200, #"{"stage":"BUILDING"}"#)
            case (_, "/api/spaces/owner/theirs/pause"): return .json(403, #"{"error":"not the owner"}"#)
            default: return .json(404, "{}")
            }
        }
        defer { hubPeer.stop() }
        let space = try HealthTestPeer { _ in .json(500, "the Space was visited") }
        defer { space.stop() }
        let hub = HubEndpoint(baseURL: hubPeer.url)
        #expect(try pause(.space("owner/s1"), endpoint(space.url), hub: hub).only == .done)
        let woken = try wake(.space("owner/s1"), endpoint(space.url), hub: hub)
        #expect(woken.only == .done && woken.returnedCall)
        guard case .failed(let text)? = try pause(.space("owner/theirs"), endpoint(space.url), hub: hub).only else {
            Issue.record("403 not failed")
            return
        }
        #expect(text.hasPrefix("Hub pause answered HTTP 403") && text.contains("owner") && !text.contains("hf_TOKEN"))
        let requests = hubPeer.requests
        #expect(requests.map(\.path) == ["/api/spaces/owner/s1/pause", "/api/spaces/owner/s1/restart", "/api/spaces/owner/theirs/pause"])
        #expect(requests.allSatisfy { $0.method == "POST" && $0.authorization == "Bearer hf_TOKEN" && $0.headers["content-length"] == "0" })
        #expect(space.requests.isEmpty)
    }

    @Test func aSpaceCallThatCannotBeMadeSendsNothing() throws {
        let hubPeer = try HealthTestPeer { _ in .json(200, "{}") }
        defer { hubPeer.stop() }
        #expect(try pause(.space("owner/s?x=1"), endpoint("http://127.0.0.1:9"), hub: HubEndpoint(baseURL: hubPeer.url)).only
                == .failed("space is not a Hub id (owner/name)"))
        #expect(try wake(.space("owner/s"), endpoint("http://127.0.0.1:9"), hub: HubEndpoint(baseURL: "https://u:p@hub")).only
                == .failed("the Hub endpoint (HF_ENDPOINT) is not an http(s) URL"))
        #expect(hubPeer.requests.isEmpty)
    }

    @Test func anHttpActionIsSentAsConfiguredWithoutTheBackendsKey() throws {
        let podAPI = try HealthTestPeer { request in
            request.path.hasPrefix("/v1/pods/p1/stop") ? .json(200, #"{"id":"p1","desiredStatus":"EXITED"}"#) : .json(400, #"{"error":"Invalid Pod ID."}"#)
        }
        defer { podAPI.stop() }
        let call = IdleCall.http(method: "POST", url: podAPI.url + "/v1/pods/p1/stop?reason=idle",
                                 headers: [IdleCall.Header("Authorization", "Bearer pod-api-key"), IdleCall.Header("X-Extra", "1")])
        #expect(try pause(call, endpoint("http://127.0.0.1:9", key: "backend-key"), hub: HubEndpoint(baseURL: "http://127.0.0.1:9")).only == .done)
        let bad = IdleCall.http(method: "PUT", url: podAPI.url + "/v1/pods/nope/stop", headers: [])
        #expect(try pause(bad, endpoint("http://127.0.0.1:9"), hub: HubEndpoint(baseURL: "http://127.0.0.1:9")).only
                == .failed("idle call answered HTTP 400"))
        let requests = podAPI.requests
        #expect(requests.count == 2)
        #expect(requests.first?.method == "POST" && requests.first?.path == "/v1/pods/p1/stop?reason=idle")
        #expect(requests.first?.authorization == "Bearer pod-api-key" && requests.first?.headers["x-extra"] == "1")
        #expect(requests.last?.method == "PUT" && requests.last?.authorization == nil)
        #expect(!requests.contains { $0.headers.values.contains { $0.contains("backend-key") } })
        // No wake call for an http action: `.done` on the next pass, nothing sent.
        let woken = try wake(call, endpoint("http://127.0.0.1:9"), hub: HubEndpoint(baseURL: "http://127.0.0.1:9"))
        #expect(woken.only == .done && !woken.returnedCall)
        #expect(podAPI.requests.count == 2)
    }

    @Test func aSlowOrRefusingOrBadCallFails() throws {
        let podAPI = try HealthTestPeer { _ in .hang }
        defer { podAPI.stop() }
        let hub = HubEndpoint(baseURL: "http://127.0.0.1:9")
        let slow = try pause(.http(method: "POST", url: podAPI.url + "/stop", headers: []), endpoint("http://127.0.0.1:9"), hub: hub, timeoutMs: 300)
        guard case .failed(let late)? = slow.only else { Issue.record("hang not failed"); return }
        #expect(late.hasPrefix("idle call failed: timed out") && slow.elapsedMs < 3_000)
        guard case .failed(let refused)? = try pause(.space("o/s"), endpoint("http://127.0.0.1:9"), hub: hub).only else {
            Issue.record("refused not failed")
            return
        }
        #expect(refused.hasPrefix("Hub pause failed: connect failed"))
        let injected = IdleCall.http(method: "POST", url: podAPI.url + "/stop", headers: [IdleCall.Header("X-Key", "SECRET\r\nX: y")])
        guard case .failed(let text)? = try pause(injected, endpoint("http://127.0.0.1:9"), hub: hub).only else {
            Issue.record("injection not failed")
            return
        }
        #expect(!text.contains("SECRET"))
        #expect(podAPI.requests.count == 1)
    }
}
