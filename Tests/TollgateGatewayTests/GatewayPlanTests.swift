// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import TollgateBackends
import TollgateConfig
import TollgateLimits
@testable import TollgateGateway
import TollgateCore

struct GatewayPlanTests {
    /// Every way a config can give a key (environment, sha256 hash, a default written in the
    /// file, a literal) ends as a digest the plan finds.
    @Test func authenticatesEveryKindOfConfiguredKey() throws {
        let yaml = """
            users:
              alice:
                keys:
                  - "${ALICE_KEY}"
                  - "sha256:52e7c5fe496c622913d84e56be2f8fec6c2616ace2341a23c2c22951cdfe6346"
              demo:
                keys: [ "${DEMO_KEY:-tg-demo-key-from-file}" ]
              bob:
                keys: [ "tg-bob-literal-key" ]
            """
        let result = ConfigLoader.load(yaml: yaml, file: "t.yaml", environment: ["ALICE_KEY": "tg-alice-from-env"])
        let plan = GatewayPlan(config: try #require(result.config))
        #expect(plan.authenticate(key: "tg-alice-from-env")?.user.name == "alice")
        #expect(plan.authenticate(key: "tg-alice")?.user.name == "alice")
        #expect(plan.authenticate(key: "tg-alice")?.keyID == "52e7c5fe")
        #expect(plan.authenticate(key: "tg-demo-key-from-file")?.user.name == "demo")
        #expect(plan.authenticate(key: "tg-bob-literal-key")?.user.name == "bob")
        #expect(plan.authenticate(key: "tg-bob-literal-ke") == nil)
        #expect(plan.authenticate(key: "") == nil)
    }

    /// A user has a quota when a GPU-seconds or dollars limit applies after inheritance
    /// (defaults → group → user, 0 = unlimited): those are refused while metering fails.
    @Test func aQuotaIsKnownAfterInheritance() throws {
        let yaml = """
            defaults:
              limits: { requests_per_minute: 60 }
            groups:
              paid:
                limits: { usd_per_month: 20 }
            users:
              free:  { keys: ["tg-free-key-0123456789abcdef"] }
              paid:  { keys: ["tg-paid-key-0123456789abcdef"], group: paid }
              gpu:   { keys: ["tg-gpu-key-0123456789abcdefg"], limits: { gpu_seconds_per_day: 600 } }
              unlim: { keys: ["tg-unlim-key-0123456789abcde"], group: paid, limits: { usd_per_month: 0 } }
            """
        let result = ConfigLoader.load(yaml: yaml, file: "t.yaml", environment: [:])
        let plan = GatewayPlan(config: try #require(result.config, "\(result.diagnostics)"))
        let quota = Dictionary(uniqueKeysWithValues: plan.users.map { ($0.name, $0.hasQuota) })
        #expect(quota == ["free": false, "paid": true, "gpu": true, "unlim": false])
    }

    /// Every upstream kind gets the same endpoint from its backend's common keys (url, api_key
    /// (hf_space: token), connect_timeout, timeout, max_response, tls.ca_file), and its own keys beside it.
    @Test func everyUpstreamKindGetsItsEndpointFromTheCommonKeys() throws {
        var template = Array("/tmp/tollgate-plan-ca-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        try #require(fd >= 0)
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        let written = pem.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
        let caFile = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { unlink(caFile) }
        try #require(written == pem.utf8.count)
        let common = "connect_timeout: 2s, timeout: 600s, max_response: 8MB, tls: { ca_file: \"\(caFile)\" }"
        let yaml = """
            backends:
              oa:  { kind: openai, url: "https://box.lan/v1/", api_key: "${K}", \(common) }
              ht:  { kind: http, url: "https://svc.lan", api_key: "${K}", \(common) }
              mo:  { kind: modal, url: "https://w--f.modal.run", token_id: wk-1, token_secret: "${S}", \(common) }
              rp:  { kind: runpod, endpoint_id: abc, api_key: "${K}", \(common) }
              re:  { kind: replicate, model: o/n, api_key: "${K}", \(common) }
              hf:  { kind: hf_space, url: "https://a-b.hf.space", token: "${K}", api_name: /edit, output: 1, \(common) }
            """
        let result = ConfigLoader.load(yaml: yaml, file: "t.yaml", environment: ["K": "k1", "S": "ws-2"])
        let plan = GatewayPlan(config: try #require(result.config, "\(result.diagnostics)"))
        func endpoint(_ name: String, _ url: String, apiKey: String? = "k1") -> BackendEndpoint {
            BackendEndpoint(name: name, baseURL: url, apiKey: apiKey, connectTimeoutMs: 2_000, totalTimeoutMs: 600_000,
                            maxResponseBytes: 8 << 20, caFile: caFile)
        }
        let oa = try #require(plan.backends[0].kind as? OpenAIKind)
        #expect(oa.options.endpoint == endpoint("oa", "https://box.lan/v1"))
        let ht = try #require(plan.backends[1].kind as? HTTPKind)
        #expect(ht.options.endpoint == endpoint("ht", "https://svc.lan"))
        let mo = try #require(plan.backends[2].kind as? ModalKind)
        #expect(mo.options.endpoint == endpoint("mo", "https://w--f.modal.run", apiKey: nil))
        #expect(mo.tokenID == "wk-1" && mo.tokenSecret == "ws-2")
        let rp = try #require(plan.backends[3].kind as? RunPodKind)
        #expect(rp.options.endpoint == endpoint("rp", "https://api.runpod.ai/v2/abc"))
        let re = try #require(plan.backends[4].kind as? ReplicateKind)
        #expect(re.options.endpoint == endpoint("re", "https://api.replicate.com/v1"))
        #expect(re.options.target == .model(owner: "o", name: "n"))
        let hf = try #require(plan.backends[5].kind as? HFSpaceKind)
        #expect(hf.options.endpoint == endpoint("hf", "https://a-b.hf.space"))
        #expect(hf.options.apiName == "/edit" && hf.options.output == 1)
    }
}
