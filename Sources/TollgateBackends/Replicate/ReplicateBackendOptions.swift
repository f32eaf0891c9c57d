// SPDX-License-Identifier: Apache-2.0
// kind: replicate — what the adapter needs from the config (mapped in GatewayPlan+Config).

public struct ReplicateBackendOptions: Sendable {
    /// What a prediction runs.
    public enum Target: Sendable, Equatable {
        /// An official model: `POST <base>/models/<owner>/<name>/predictions`.
        case model(owner: String, name: String)
        /// A version id: `POST <base>/predictions` with `"version"` in the body.
        case version(String)
    }

    public var name: String
    /// The API base, `https://api.replicate.com/v1` unless the config's `url` replaces it.
    public var baseURL: String
    public var apiKey: String?
    public var target: Target
    public var connectTimeoutMs: Int
    /// The whole call: create, polls and file fetches. Past it the prediction is cancelled.
    public var totalTimeoutMs: Int
    /// Cap on any one reply and on the files of one result together.
    public var maxResponseBytes: Int
    public var caFile: String?
    /// The longest `Prefer: wait=N` asks Replicate to hold the create's reply (the API takes
    /// 1–60 s). The create's reply carries the prediction's id, the only handle to cancel it:
    /// a client that leaves while the reply is held gets its prediction cancelled only once
    /// the hold ends, so the hold is kept short and polling (with backoff) takes over.
    public var maxWaitSeconds: Int

    public init(name: String, baseURL: String, apiKey: String?, target: Target, connectTimeoutMs: Int = 10_000,
                totalTimeoutMs: Int = 300_000, maxResponseBytes: Int = 1 << 30, caFile: String? = nil,
                maxWaitSeconds: Int = 10) {
        self.name = name
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.target = target
        self.connectTimeoutMs = connectTimeoutMs
        self.totalTimeoutMs = totalTimeoutMs
        self.maxResponseBytes = maxResponseBytes
        self.caFile = caFile
        self.maxWaitSeconds = maxWaitSeconds
    }
}
