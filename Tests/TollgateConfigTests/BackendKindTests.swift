// SPDX-License-Identifier: Apache-2.0
// What each kind of backend loads into: options, the base URL in effect, default probes.
import Testing
import TollgateConfig

@Suite struct BackendKindTests {
    private func backend(_ body: String, environment: [String: String] = [:]) throws -> BackendConfig {
        let result = TestSupport.load("backends:\n  b:\n" + body, environment: environment)
        #expect(result.errors.isEmpty, "\(TestSupport.errors(result))")
        return try #require(result.config?.backends.first)
    }

    @Test func openaiWithEveryCommonKey() throws {
        let b = try backend("""
                kind: openai
                url: HTTP://GPU-Box.lan:8000/v1/
                api_key: ${K}
                model: meta-llama/Llama-3.1-8B-Instruct
                price: { per_hour: 0.05 }
                billing: always_on
                max_concurrency: 4
                timeout: 600s
                first_byte_timeout: 120s
                connect_timeout: 2s
                expected_run: 2s
                cold_start: 20s
                bill_cold_start: true
                max_response: 64MB
                budget_usd_per_month: 50
                health: { path: /health, interval: 30s }
                circuit: { failures: 5, cooldown: 2s, max_cooldown: 1m }
                idle:
                  after: 15m
                  action: http
                  request: { url: "https://ctl.lan/stop?now=1", headers: { Authorization: "Bearer ${K}" } }
            """, environment: ["K": "sk-up"])
        #expect(b.kind == .openai)
        #expect(b.options == .openai)
        #expect(b.url?.description == "http://gpu-box.lan:8000/v1")
        #expect(b.url?.origin == "http://gpu-box.lan:8000")
        #expect(b.apiKey == "sk-up")
        #expect(b.model == "meta-llama/Llama-3.1-8B-Instruct")
        #expect(b.pricing == Pricing(billing: .alwaysOn, microDollars: 50_000))
        #expect(b.billing == .alwaysOn)
        #expect(b.maxConcurrency == 4)
        #expect(b.timeout == .seconds(600))
        #expect(b.firstByteTimeout == .seconds(120))
        #expect(b.connectTimeout == .seconds(2))
        #expect(b.expectedRun == .seconds(2))
        #expect(b.coldStart == .seconds(20))
        #expect(b.billColdStart)
        #expect(b.maxResponse == 64 << 20)
        #expect(b.budgetMicroDollarsPerMonth == 50_000_000)
        #expect(b.health == HealthCheck(probe: .path("/health"), interval: .seconds(30)))
        #expect(b.circuit == CircuitConfig(failures: 5, cooldown: .seconds(2), maxCooldown: .seconds(60)))
        let request = IdleRequest(method: "POST", url: try BackendURL.parse("https://ctl.lan/stop?now=1", allowQuery: true),
                                  headers: [.init(name: "Authorization", value: "Bearer sk-up")])
        #expect(b.idle == IdlePolicy(after: .seconds(900), action: .http(request)))
        #expect(b.line == 2)
    }

    /// A job platform's first response byte is its finished result (RunPod, Replicate, a Gradio
    /// call, Modal after its 303 legs): the first-byte deadline defaults to the whole `timeout`,
    /// so a 10-minute job is not cut at 120 s; an explicit value still wins.
    @Test func jobKindsWaitTheWholeTimeoutForTheirFirstByte() throws {
        let runpod = try backend("    kind: runpod\n    endpoint_id: e1\n    api_key: k\n    timeout: 900s\n")
        #expect(runpod.firstByteTimeout == .seconds(900))
        let replicate = try backend("    kind: replicate\n    model: o/n\n    api_key: k\n")
        #expect(replicate.firstByteTimeout == .seconds(300))
        let space = try backend("    kind: hf_space\n    space: o/n\n    timeout: 600s\n")
        #expect(space.firstByteTimeout == .seconds(600))
        let modal = try backend("    kind: modal\n    url: https://w--f.modal.run\n    timeout: 400s\n")
        #expect(modal.firstByteTimeout == .seconds(400))
        let explicit = try backend("    kind: runpod\n    endpoint_id: e1\n    api_key: k\n    timeout: 900s\n    first_byte_timeout: 60s\n")
        #expect(explicit.firstByteTimeout == .seconds(60))
        let passThrough = try backend("    kind: http\n    url: http://svc.lan\n    timeout: 900s\n")
        #expect(passThrough.firstByteTimeout == .seconds(120))
    }

    @Test func commonDefaults() throws {
        let b = try backend("    kind: http\n    url: http://svc.lan\n")
        let expected = BackendConfig(name: "b", options: .http, url: try BackendURL.parse("http://svc.lan"), line: 2)
        #expect(b == expected)
        #expect(b.maxConcurrency == 16 && b.timeout == .seconds(300) && b.firstByteTimeout == .seconds(120))
        #expect(b.connectTimeout == .seconds(10) && b.expectedRun == .seconds(1) && b.coldStart == .zero)
        #expect(b.maxResponse == 1 << 30 && b.health == nil && b.idle == nil && b.pricing == nil)
        #expect(b.circuit == CircuitConfig(failures: 3, cooldown: .seconds(10), maxCooldown: .seconds(300)))
    }

    @Test func hfSpaceFromSpaceName() throws {
        let b = try backend("""
                kind: hf_space
                space: bizbots/Qwen_Image.Editor
                token: ${HF_TOKEN}
                api_name: /edit
                inputs: [ "$image", "$prompt", 30 ]
                output: 1
                price: { per_hour: 0.40 }
                billing: always_on
                idle: { after: 15m, action: pause }
            """, environment: ["HF_TOKEN": "hf_x"])
        #expect(b.options == .hfSpace(HFSpaceOptions(space: "bizbots/Qwen_Image.Editor", apiName: "/edit",
                                                      inputs: [.field("image"), .field("prompt"), .integer(30)], output: 1)))
        #expect(b.url?.description == "https://bizbots-qwen-image-editor.hf.space")
        #expect(b.apiKey == "hf_x")
        #expect(b.health == HealthCheck(probe: .hubRuntime, interval: .seconds(15)))
        #expect(b.idle == IdlePolicy(after: .seconds(900), action: .pause))
        #expect(b.pricing?.microDollars == 400_000)
    }

    @Test func hfSpaceByURLHasNoDefaultProbe() throws {
        let b = try backend("    kind: hf_space\n    url: https://abc.hf.space\n")
        #expect(b.options == .hfSpace(HFSpaceOptions()))
        #expect(b.url?.description == "https://abc.hf.space")
        #expect(b.health == nil)
    }

    @Test func runpodDefaults() throws {
        let b = try backend("""
                kind: runpod
                endpoint_id: abc123xyz
                api_key: ${RUNPOD_API_KEY}
                price: { per_second: 0.00019, round_up: 1s, minimum: 0.001 }
                billing: per_second
            """, environment: ["RUNPOD_API_KEY": "rp"])
        #expect(b.options == .runpod(RunPodOptions(endpointID: "abc123xyz")))
        #expect(b.url?.description == "https://api.runpod.ai/v2/abc123xyz")
        #expect(b.health == HealthCheck(probe: .path("/health"), interval: .seconds(15)))
        #expect(b.pricing == Pricing(billing: .perSecond, microDollars: 190, roundUp: .seconds(1), minimumMicroDollars: 1_000))
    }

    @Test func healthNoneSwitchesTheDefaultOff() throws {
        let b = try backend("    kind: runpod\n    endpoint_id: e1\n    api_key: ${K}\n    health: none\n", environment: ["K": "k"])
        #expect(b.health == nil)
    }

    @Test func replicateTargets() throws {
        let byModel = try backend("    kind: replicate\n    api_key: ${K}\n    model: black-forest-labs/flux-schnell\n",
                                  environment: ["K": "r8"])
        #expect(byModel.options == .replicate(ReplicateOptions(target: .model(owner: "black-forest-labs", name: "flux-schnell"))))
        #expect(byModel.url?.description == "https://api.replicate.com/v1")
        #expect(byModel.model == nil)
        let byVersion = try backend("    kind: replicate\n    api_key: ${K}\n    version: 5599ed30\n", environment: ["K": "r8"])
        #expect(byVersion.options == .replicate(ReplicateOptions(target: .version("5599ed30"))))
    }

    @Test func modalTokens() throws {
        let b = try backend("""
                kind: modal
                url: https://ws--app-fn.modal.run
                token_id: ${MODAL_ID}
                token_secret: ${MODAL_SECRET}
                price: { per_second: 0.000583 }
                billing: per_second
            """, environment: ["MODAL_ID": "ak-1", "MODAL_SECRET": "as-2"])
        #expect(b.options == .modal(ModalOptions(tokenID: "ak-1", tokenSecret: "as-2")))
        #expect(b.apiKey == nil)
    }

    @Test(arguments: [
        ("800ms ± 200ms", Duration.milliseconds(800), Duration.milliseconds(200)),
        ("800ms +- 200ms", .milliseconds(800), .milliseconds(200)),
        ("1s±50ms", .seconds(1), .milliseconds(50)),
        ("5ms", .milliseconds(5), .zero),
    ])
    func simulatedLatency(_ text: String, _ mean: Duration, _ jitter: Duration) throws {
        let b = try backend("    kind: simulated\n    latency: \(text)\n")
        guard case .simulated(let options) = b.options else {
            Issue.record("expected simulated options")
            return
        }
        #expect(options.latency == mean)
        #expect(options.latencyJitter == jitter)
        #expect(b.url == nil)
    }

    @Test func simulatedDefaultsAndValues() throws {
        let d = try backend("    kind: simulated\n")
        #expect(d.options == .simulated(SimulatedOptions()))
        #expect(SimulatedOptions().coldAfter == .seconds(300))
        #expect(SimulatedOptions().streamInterval == .milliseconds(20))
        let b = try backend("    kind: simulated\n    cold_after: 2m\n    failure_rate: 0.05\n    stream_interval: 5ms\n    cold_start: 3s\n")
        #expect(b.options == .simulated(SimulatedOptions(coldAfter: .seconds(120), failureRate: 0.05,
                                                         streamInterval: .milliseconds(5))))
        #expect(b.coldStart == .seconds(3))
    }

    @Test func perRequestPricing() throws {
        let b = try backend("    kind: simulated\n    price: { per_request: 0.01 }\n    billing: per_request\n")
        #expect(b.pricing == Pricing(billing: .perRequest, microDollars: 10_000))
    }

    @Test func backendURLParsing() throws {
        let v6 = try BackendURL.parse("http://[::1]:8000/v1")
        #expect(v6.host == "::1" && v6.port == 8000 && v6.path == "/v1")
        #expect(v6.description == "http://[::1]:8000/v1")
        #expect(v6.appending(path: "/health") == "http://[::1]:8000/v1/health")
        let https = try BackendURL.parse("https://api.example.com")
        #expect(https.port == 443 && https.path == "" && https.origin == "https://api.example.com:443")
        #expect(throws: BackendURL.ParseError.characters) { try BackendURL.parse("http://a b") }
        #expect(throws: BackendURL.ParseError.host) { try BackendURL.parse("http://") }
        #expect(throws: BackendURL.ParseError.host) { try BackendURL.parse("http://a..b") }
        #expect(throws: BackendURL.ParseError.port) { try BackendURL.parse("http://a:99999") }
    }
}
