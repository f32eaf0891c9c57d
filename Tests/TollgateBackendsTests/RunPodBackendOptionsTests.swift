// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateBackends

struct RunPodBackendOptionsTests {
    private let options = RunPodBackendOptions(endpoint: BackendEndpoint(name: "rp", baseURL: "https://api.runpod.ai/v2/abc123/", apiKey: "k"))

    @Test func theBaseLosesItsTrailingSlash() {
        #expect(options.endpoint.baseURL == "https://api.runpod.ai/v2/abc123")
        #expect(options.statusURL(jobID: "j-1") == "https://api.runpod.ai/v2/abc123/status/j-1")
        #expect(options.cancelURL(jobID: "j-1") == "https://api.runpod.ai/v2/abc123/cancel/j-1")
        #expect(options.healthURL == "https://api.runpod.ai/v2/abc123/health")
    }

    @Test func runsyncWaitsForTheTimeLeftWithinRunPodsBounds() {
        #expect(options.submitURL(runPath: "", remainingMs: 10_000)?.url == "https://api.runpod.ai/v2/abc123/runsync?wait=9000")
        #expect(options.submitURL(runPath: "", remainingMs: 300_000)?.url.hasSuffix("?wait=30000") == true)
        #expect(options.submitURL(runPath: "", remainingMs: 500)?.url.hasSuffix("?wait=1000") == true)
        #expect(options.submitURL(runPath: "", remainingMs: 0)?.submit == .runsync)
    }

    @Test func theRunPathNamesTheOperationAndKeepsTheClientsQuery() {
        #expect(options.submitURL(runPath: "/runsync?wait=120000", remainingMs: 1)?.url
                == "https://api.runpod.ai/v2/abc123/runsync?wait=120000")
        let run = options.submitURL(runPath: "/run", remainingMs: 5_000)
        #expect(run?.url == "https://api.runpod.ai/v2/abc123/run" && run?.submit == .run)
        for other in ["/status/x", "/cancel/x", "/health", "/purge-queue", "/runsyncx", "/run/x", "/../run"] {
            #expect(options.submitURL(runPath: other, remainingMs: 5_000) == nil, "\(other)")
        }
    }
}
