// SPDX-License-Identifier: Apache-2.0
// The pure side of health probes and idle calls: the Hub's runtime stages (the OpenAPI list of
// backend-protocols.md §1.6, unknown strings included), RunPod's /health counts (§2.3), the
// path, space id and HF_ENDPOINT checks, and the idle request's checks — none of whose texts
// may quote a credential.
import Testing
@testable import TollgateBackends
import TollgateUpstream

struct HealthReadingTests {
    @Test func everyHubStageHasItsVerdict() {
        let table: [(String, ProbeVerdict)] = [
            ("RUNNING", .up(warm: true)),
            ("SLEEPING", .asleep), ("STOPPED", .asleep),
            ("BUILDING", .starting), ("APP_STARTING", .starting), ("RUNNING_BUILDING", .starting),
            ("RUNNING_APP_STARTING", .starting),
            ("PAUSED", .paused),
        ]
        for (stage, verdict) in table { #expect(ProbeReading.hubStage(stage) == verdict, "\(stage)") }
        for stage in ["RUNTIME_ERROR", "BUILD_ERROR", "CONFIG_ERROR", "NO_APP_FILE", "DELETING"] {
            guard case .down(let text) = ProbeReading.hubStage(stage) else {
                Issue.record("\(stage) is not down")
                continue
            }
            #expect(text == "Space stage \(stage)")
        }
    }

    @Test func anUnknownStageIsDownAndNamed() {
        for stage in ["WARMING_UP", "running", ""] {
            guard case .down(let text) = ProbeReading.hubStage(stage) else {
                Issue.record("\(stage) is not down")
                continue
            }
            #expect(text.contains("\"\(stage)\"") && text.contains("not known"))
        }
        // A long or control-laden stage string is cut and cleaned.
        guard case .down(let text) = ProbeReading.hubStage(String(repeating: "X", count: 5000) + "\r\nSet-Cookie: a") else {
            Issue.record("not down")
            return
        }
        #expect(text.count < 300 && !text.contains("\r") && !text.contains("\n"))
    }

    @Test func theRuntimeBodyDecides() {
        // Recorded by huggingface_hub's cassette test_pause_and_restart_space.yaml.
        let paused = #"{"stage":"PAUSED","hardware":{"current":null,"requested":"cpu-basic"},"storage":null,"gcTimeout":172800,"replicas":{"requested":1},"devMode":false,"domains":[{"domain":"user-tmp-test-space.hf.space","stage":"READY"}]}"#
        #expect(ProbeReading.hubRuntime(body: Array(paused.utf8)) == .paused)
        let running = #"{"stage":"RUNNING","hardware":{"current":"t4-small","requested":"t4-small"},"gcTimeout":3600,"replicas":{"current":1,"requested":1}}"#
        #expect(ProbeReading.hubRuntime(body: Array(running.utf8)) == .up(warm: true))
        let failed = #"{"stage":"RUNTIME_ERROR","errorMessage":"Exit code: 1.\nReason: CUDA out of memory\u0007"}"#
        #expect(ProbeReading.hubRuntime(body: Array(failed.utf8)) == .down("Space stage RUNTIME_ERROR: Exit code: 1.Reason: CUDA out of memory"))
        for bad in ["", "not json", "[]", "{}", #"{"stage":1}"#, #"{"stage":null}"#, #"{"hardware":{"stage":"RUNNING"}}"#] {
            #expect(ProbeReading.hubRuntime(body: Array(bad.utf8)) == .down("Hub runtime answer has no stage"), "\(bad)")
        }
    }

    @Test func hubStatusesAndTransportFailuresAreDown() {
        let notFound = BufferedReply(status: 404, headers: [], body: Array(#"{"error":"x"}"#.utf8), outcome: .completed)
        guard case .down(let text) = ProbeReading.hubRuntime(notFound) else { Issue.record("404 not down"); return }
        #expect(text.hasPrefix("Hub runtime answered HTTP 404") && text.contains("no such Space"))
        let forbidden = BufferedReply(status: 403, headers: [], body: [], outcome: .completed)
        guard case .down(let text403) = ProbeReading.hubRuntime(forbidden) else { Issue.record("403 not down"); return }
        #expect(text403.contains("owner"))
        let late = BufferedReply(status: 0, headers: [], body: [], outcome: .timedOut("Operation timed out after 100 ms"))
        #expect(ProbeReading.hubRuntime(late) == .down("Hub runtime request failed: timed out: Operation timed out after 100 ms"))
        let big = BufferedReply(status: 200, headers: [], body: [], outcome: .tooLarge)
        #expect(ProbeReading.hubRuntime(big) == .down("Hub runtime request failed: response too large"))
    }

    @Test func runPodCountsMapToVerdicts() {
        // The documented answer: nothing loaded, jobs queued — scaled to zero: eligible, cold.
        #expect(ProbeReading.runpod(RunPodHealth(inQueue: 2, idle: 0, running: 0)) == .up(warm: false))
        #expect(ProbeReading.runpod(RunPodHealth()) == .up(warm: false))
        #expect(ProbeReading.runpod(RunPodHealth(ready: 2)) == .up(warm: true))
        #expect(ProbeReading.runpod(RunPodHealth(idle: 1)) == .up(warm: true))
        #expect(ProbeReading.runpod(RunPodHealth(running: 3, unhealthy: 2)) == .up(warm: true))
        #expect(ProbeReading.runpod(RunPodHealth(initializing: 1)) == .up(warm: false))
        #expect(ProbeReading.runpod(RunPodHealth(inQueue: 4, unhealthy: 2)) == .down("RunPod has no usable worker (unhealthy 2, throttled 0, in queue 4)"))
        #expect(ProbeReading.runpod(RunPodHealth(throttled: 1)) == .down("RunPod has no usable worker (unhealthy 0, throttled 1, in queue 0)"))
        #expect(ProbeReading.runpod(RunPodProbeResult.badReply(status: 200)) == .down("RunPod /health answered without job and worker counts"))
        #expect(ProbeReading.runpod(RunPodProbeResult.badReply(status: 401)) == .down("RunPod /health answered HTTP 401"))
        #expect(ProbeReading.runpod(RunPodProbeResult.unreachable("connect failed: refused")) == .down("RunPod /health failed: connect failed: refused"))
    }

    @Test func aPathProbeStaysOnTheBackendsOrigin() {
        #expect(ProbeReading.pathURL(base: "http://10.0.0.5:8000", path: "/health") == "http://10.0.0.5:8000/health")
        #expect(ProbeReading.pathURL(base: "https://api.example.com/v1/", path: "/models?x=1") == "https://api.example.com/v1/models?x=1")
        for bad in ["health", "", "//evil.example/x", "/a#b", "/a b", "/a\r\nX: y", "/a\\b", "http://evil.example/"] {
            #expect(ProbeReading.pathURL(base: "http://10.0.0.5:8000", path: bad) == nil, "\(bad)")
        }
        #expect(ProbeReading.path(BufferedReply(status: 204, headers: [], body: [], outcome: .completed)) == .up(warm: nil))
        #expect(ProbeReading.path(BufferedReply(status: 503, headers: [], body: [], outcome: .completed)) == .down("health probe answered HTTP 503"))
    }

    @Test func hubEndpointAndSpaceIDs() {
        #expect(HubEndpoint(baseURL: "http://127.0.0.1:8080//").baseURL == "http://127.0.0.1:8080")
        #expect(HubEndpoint.from(environmentValue: nil) == HubEndpoint(baseURL: "https://huggingface.co"))
        #expect(HubEndpoint.from(environmentValue: "") == HubEndpoint(baseURL: "https://huggingface.co"))
        #expect(HubEndpoint.from(environmentValue: "https://hub.internal/") == HubEndpoint(baseURL: "https://hub.internal"))
        for bad in ["ftp://hub", "https://user:pw@hub.example", "hub.example", "https://hub.example/?x=1", "https://hub.example/#a", ""] {
            #expect(!HubEndpoint(baseURL: bad).isValid, "\(bad)")
        }
        let hub = HubEndpoint(baseURL: "https://huggingface.co/")
        #expect(hub.spaceURL("bizbots/qwen-image-editor", "runtime") == "https://huggingface.co/api/spaces/bizbots/qwen-image-editor/runtime")
        for good in ["a/b", "user/my_space.v2", "Org-1/x"] { #expect(HubEndpoint.isValidSpaceID(good), "\(good)") }
        for bad in ["a", "a/b/c", "/b", "a/", "../x", "a/..", "a/b?x=1", "a/b#", "a/-b", "a/b.", "a/b--c", "a/b..c", "a/%2e%2e",
                    "a/b c", "a/" + String(repeating: "x", count: 97), "a\\b/c"] {
            #expect(!HubEndpoint.isValidSpaceID(bad), "\(bad)")
            #expect(hub.spaceURL(bad, "pause") == nil)
        }
    }

    @Test func anIdleCallNeverPrintsItsSecrets() {
        let call = IdleCall.http(method: "POST", url: "https://rest.runpod.io/v1/pods/p1/stop?token=SECRET1",
                                 headers: [IdleCall.Header("Authorization", "Bearer SECRET2")])
        #expect(!call.description.contains("SECRET") && call.description.contains("rest.runpod.io/v1/pods/p1/stop"))
        #expect(!"\(call)".contains("SECRET"))
    }

    @Test func aBadIdleRequestIsRefusedWithoutQuotingIt() {
        func problem(_ method: String, _ url: String, _ headers: [IdleCall.Header]) -> String? {
            if case .failure(let p) = IdleCalls.httpRequest(method: method, url: url, headers: headers, connectMs: 1000,
                                                             timeoutMs: 1000, caFile: nil) { return p.text }
            return nil
        }
        let ok = "http://127.0.0.1:9/stop?x=1"
        #expect(problem("POST", ok, [IdleCall.Header("Authorization", "Bearer k")]) == nil)
        #expect(problem("TRACE", ok, []) != nil)
        #expect(problem("post", ok, []) != nil)
        for url in ["file:///etc/passwd", "http://user:SECRET@host/stop", "gopher://x/", "http://h/stop#f", "stop"] {
            let text = problem("POST", url, [])
            #expect(text != nil && text?.contains("SECRET") == false, "\(url)")
        }
        let injected = problem("POST", ok, [IdleCall.Header("X-Key", "SECRET\r\nHost: evil")])
        #expect(injected != nil && injected?.contains("SECRET") == false)
        #expect(problem("POST", ok, [IdleCall.Header("Bad Name", "v")]) != nil)
        #expect(problem("POST", ok, [IdleCall.Header("Content-Length", "5")]) != nil)
        #expect(problem("POST", ok, [IdleCall.Header("transfer-encoding", "chunked")]) != nil)
        #expect(problem("POST", ok, [IdleCall.Header("X-Tab", "a\tb")]) == nil)
    }
}
