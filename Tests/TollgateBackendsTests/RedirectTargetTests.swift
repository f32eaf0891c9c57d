// SPDX-License-Identifier: Apache-2.0
// Where a Modal 303 points (RFC 3986 §5.2 resolution), and OriginPolicy's verdict on it (RFC
// 6454: scheme, host, port): only same-origin targets are ever followed.
import Testing
@testable import TollgateBackends

struct RedirectTargetTests {
    private static let base = RedirectTarget(absolute: "https://ws--app-fn.modal.run/v1/run/x?a=1")!

    @Test func parsesAbsoluteURLsWithDefaultPortsExplicit() throws {
        let t = try #require(RedirectTarget(absolute: "HTTPS://WS--App.modal.run"))
        #expect(t.scheme == "https" && t.host == "ws--app.modal.run" && t.port == 443 && t.path == "/" && t.query == "")
        let p = try #require(RedirectTarget(absolute: "http://127.0.0.1:8080/a/b?q=1#frag"))
        #expect(p.port == 8080 && p.path == "/a/b" && p.query == "?q=1")
        #expect(p.url == "http://127.0.0.1:8080/a/b?q=1")
        let v6 = try #require(RedirectTarget(absolute: "http://[::1]:9/x"))
        #expect(v6.host == "[::1]" && v6.port == 9)
        #expect(RedirectTarget(absolute: "http://[::1]/x")?.port == 80)
    }

    @Test func refusesWhatIsNotAPlainHTTPURL() {
        for bad in ["ftp://h/x", "file:///etc/passwd", "https://user:pw@h/", "https://h:0/", "https://h:99999/",
                    "https://h:8a/", "https://", "https:///x", "h/x", "https://h/a b", "https://h/\r\nX: y", "javascript:alert(1)"] {
            #expect(RedirectTarget(absolute: bad) == nil, "\(bad)")
        }
    }

    @Test func resolvesModalsQueryOnlyLocationOntoTheSamePath() throws {
        let t = try #require(Self.base.resolving("?__modal_function_call_id=fc-01ABC"))
        #expect(t.url == "https://ws--app-fn.modal.run/v1/run/x?__modal_function_call_id=fc-01ABC")
        #expect(OriginPolicy.isSameOrigin(t.url, Self.base.url))
    }

    @Test func resolvesAbsolutePathRelativePathAndNetworkPathReferences() throws {
        #expect(Self.base.resolving("/result?id=1")?.url == "https://ws--app-fn.modal.run/result?id=1")
        #expect(Self.base.resolving("y?id=2")?.url == "https://ws--app-fn.modal.run/v1/run/y?id=2")
        #expect(Self.base.resolving("../../z")?.url == "https://ws--app-fn.modal.run/z")
        #expect(Self.base.resolving("/a/./b/../c")?.url == "https://ws--app-fn.modal.run/a/c")
        #expect(Self.base.resolving("//other.example/p")?.url == "https://other.example/p")
        #expect(OriginPolicy.isSameOrigin(try #require(Self.base.resolving("https://ws--app-fn.modal.run:443/p")).url, Self.base.url))
        #expect(Self.base.resolving("") == Self.base)
    }

    @Test func anotherSchemeHostOrPortIsAnotherOrigin() throws {
        for other in ["http://ws--app-fn.modal.run/v1", "https://ws--app-fn.modal.run:8443/v1", "https://evil.example/v1",
                      "//evil.example/v1", "https://ws--app-fn.modal.run.evil.example/"] {
            let t = try #require(Self.base.resolving(other))
            #expect(!OriginPolicy.isSameOrigin(t.url, Self.base.url), "\(other)")
        }
        #expect(Self.base.resolving("gopher://ws--app-fn.modal.run/") == nil)
        #expect(Self.base.resolving("https://ws--app-fn.modal.run@evil.example/") == nil)
    }
}
