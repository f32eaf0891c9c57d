// SPDX-License-Identifier: Apache-2.0
// What every call to one Replicate backend shares: its options, its endpoints and the headers
// each of its requests carries (built once per adapter).
import TollgateUpstream

struct ReplicateCallConfig {
    /// Polls of one prediction at most; the backend's timeout bounds them first in practice
    /// (PollSchedule's backoff reaches 5 s after a dozen polls).
    static let maxPolls = 2_000
    /// A cancel's own deadline (DetachedCalls caps it as well).
    static let cancelTimeoutMs = 10_000

    let options: ReplicateBackendOptions
    let endpoints: ReplicateEndpoints
    private let fixedHeaders: UpstreamHeaderList

    init(options: ReplicateBackendOptions) {
        self.options = options
        endpoints = ReplicateEndpoints(baseURL: options.endpoint.baseURL, target: options.target)
        // The backend's own token (replicate-python: `Authorization: Bearer <token>`); the
        // client's Authorization never gets this far. Requests go only to the API's origin
        // and the delivery origins (ReplicateEndpoints), so the token goes nowhere else.
        fixedHeaders = UpstreamHeaderList(options.endpoint.identityHeaders)
    }

    /// A request to `url` with the backend's headers and limits, due within `remainingMs`.
    func request(url: String, method: String, remainingMs: Int) -> UpstreamRequest {
        let endpoint = options.endpoint
        let total = max(min(remainingMs, endpoint.totalTimeoutMs), 1)
        // Replies are JSON objects or output files: the backend's max_response caps both.
        return UpstreamRequest(url: url, method: method, fixedHeaders: fixedHeaders, accept: nil,
                               connectTimeoutMs: min(endpoint.connectTimeoutMs, total), totalTimeoutMs: total,
                               maxResponseBytes: endpoint.maxResponseBytes, caFile: endpoint.caFile)
    }
}
