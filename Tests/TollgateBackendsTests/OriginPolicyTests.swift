// SPDX-License-Identifier: Apache-2.0
// OriginPolicy: RFC 6454 origins of http(s) URLs, and the URLs an adapter may fetch.
import Testing
@testable import TollgateBackends

struct OriginPolicyTests {
    typealias Origin = OriginPolicy.Origin

    @Test func originsNormaliseCaseAndDefaultPorts() {
        #expect(OriginPolicy.origin(of: "HTTPS://Api.RunPod.AI/v2/x?y=1") == Origin(scheme: "https", host: "api.runpod.ai", port: 443))
        #expect(OriginPolicy.origin(of: "http://127.0.0.1:8080") == Origin(scheme: "http", host: "127.0.0.1", port: 8080))
        #expect(OriginPolicy.origin(of: "http://[::1]:9000/p") == Origin(scheme: "http", host: "[::1]", port: 9000))
        #expect(OriginPolicy.origin(of: "http://h#frag") == Origin(scheme: "http", host: "h", port: 80))
        #expect(OriginPolicy.isSameOrigin("https://a.example/x", "https://A.EXAMPLE:443/y?z"))
        #expect(OriginPolicy.isSameOrigin("http://a.example:80/", "http://a.example"))
        #expect(!OriginPolicy.isSameOrigin("http://a.example/", "https://a.example/"))
        #expect(!OriginPolicy.isSameOrigin("https://a.example:8443/", "https://a.example/"))
        #expect(!OriginPolicy.isSameOrigin("https://a.example/", "https://b.a.example/"))
    }

    @Test(arguments: [
        "https://api.example@evil.example/",  // userinfo: the host is evil.example
        "https://user:pw@api.example/",
        "https://evil.example\\@api.example/",
        "https://evil.example\\.api.example/",
        "ftp://api.example/",
        "file:///etc/passwd",
        "//api.example/x",
        "https://api.example:0/",
        "https://api.example:65536/",
        "https://api.example:80a/",
        "https://api.example:-1/",
        "https://api%2eexample/",
        "https:// api.example/",
        "https://api.example/\u{0}",
        "https://api.exämple/",
        "https://[::1/",
        "https://[zz]/",
        "https:///path",
        "https://",
        "javascript:alert(1)",
        "",
    ])
    func trickyURLsHaveNoOrigin(_ url: String) {
        #expect(OriginPolicy.origin(of: url) == nil, "\(url)")
        #expect(!OriginPolicy.allows(url, origins: [Origin(scheme: "https", host: "api.example", port: 443)]))
    }

    @Test func aPolicyAllowsItsOriginsAndItsDomainsSubdomains() {
        let policy = OriginPolicy(urls: ["https://api.replicate.com/v1", "http://127.0.0.1:7860"], httpsDomains: ["Replicate.Delivery"])
        #expect(policy.allows("https://api.replicate.com/v1/predictions/abc"))
        #expect(policy.allows("http://127.0.0.1:7860/gradio_api/file=x"))
        #expect(policy.allows("https://replicate.delivery/pbxt/a.png"))
        #expect(policy.allows("https://pbxt.replicate.delivery/a.png"))
        #expect(!policy.allows("http://replicate.delivery/a.png"))  // the domains are HTTPS only
        #expect(!policy.allows("https://replicate.delivery:8443/a.png"))
        #expect(!policy.allows("https://evilreplicate.delivery/a.png"))
        #expect(!policy.allows("https://replicate.delivery.evil.example/a.png"))
        #expect(!policy.allows("https://replicate.delivery@evil.example/a.png"))
        #expect(!policy.allows("http://127.0.0.1:7861/"))
        #expect(!policy.allows("https://api.replicate.com:444/"))
    }

    @Test func joinAndResolve() {
        #expect(OriginPolicy.join(base: "https://h/v2/ep/", path: "/status/1") == "https://h/v2/ep/status/1")
        #expect(OriginPolicy.join(base: "https://h", path: "run?x=1") == "https://h/run?x=1")
        #expect(OriginPolicy.join(base: "https://h/", path: "") == "https://h")
        let policy = OriginPolicy(urls: ["http://127.0.0.1:7860"])
        #expect(policy.resolve("/file=/tmp/a.png", base: "http://127.0.0.1:7860/") == "http://127.0.0.1:7860/file=/tmp/a.png")
        #expect(policy.resolve("http://127.0.0.1:7860/x", base: "http://127.0.0.1:7860") == "http://127.0.0.1:7860/x")
        #expect(policy.resolve("http://169.254.169.254/latest", base: "http://127.0.0.1:7860") == nil)
        #expect(policy.resolve("//169.254.169.254/latest", base: "http://127.0.0.1:7860") == nil)
        #expect(policy.resolve("file:///etc/passwd", base: "http://127.0.0.1:7860") == nil)
        #expect(policy.resolve("data:image/png;base64,AA", base: "http://127.0.0.1:7860") == nil)
    }
}
