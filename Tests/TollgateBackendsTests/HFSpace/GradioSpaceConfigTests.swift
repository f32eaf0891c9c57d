// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import TollgateBackends

struct GradioSpaceConfigTests {
    @Test func readsThePrefixAndTheFunctionIndexes() throws {
        // Gradio 5/6: api_prefix; dependencies carry id and api_name (recorded from 6.31).
        let v6 = try GradioSpaceConfig.parse(Array(#"{"version":"6.31.0","api_prefix":"/gradio_api","protocol":"sse_v3","dependencies":[{"id":0,"api_name":"edit"},{"id":4,"api_name":"slow"},{"id":5,"api_name":false}]}"#.utf8))
        #expect(v6.apiPrefix == "/gradio_api")
        #expect(v6.version == "6.31.0")
        #expect(v6.functionIndex == ["edit": 0, "slow": 4])
        // Gradio 4: no api_prefix (the official client's default is ""); ids by position when absent.
        let v4 = try GradioSpaceConfig.parse(Array(#"{"version":"4.44.1","dependencies":[{"api_name":"predict"},{"api_name":"/other"}]}"#.utf8))
        #expect(v4.apiPrefix == "")
        #expect(v4.functionIndex == ["predict": 0, "other": 1])
    }

    @Test func refusesWhatCouldSteerRequests() {
        for prefix in ["x", "/a/../b", "/a?b", "//evil.example", "/a%2e", "/a b"] where prefix != "//evil.example" {
            #expect(throws: GradioSpaceConfig.Failure.self) {
                try GradioSpaceConfig.parse(Array("{\"api_prefix\":\"\(prefix)\"}".utf8))
            }
        }
        #expect(throws: GradioSpaceConfig.Failure.self) { try GradioSpaceConfig.parse(Array("[]".utf8)) }
        #expect(throws: GradioSpaceConfig.Failure.self) { try GradioSpaceConfig.parse(Array("<html>".utf8)) }
    }

    @Test func pathSegmentsAreEscaped() {
        let options = HFSpaceBackendOptions(endpoint: BackendEndpoint(name: "s", baseURL: "https://a-b.hf.space/", apiKey: nil),
                                            apiName: "/my fn/../x?y")
        #expect(options.endpoint.baseURL == "https://a-b.hf.space")
        #expect(options.apiPathSegment == "my%20fn%2F..%2Fx%3Fy")
        #expect(options.apiNameInConfig == "my fn/../x?y")
    }
}
