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

    /// Its `baseURL` is the API base, `https://api.replicate.com/v1` unless the config's `url`
    /// replaces it; `totalTimeoutMs` is the whole call: create, polls and file fetches (past it
    /// the prediction is cancelled); `maxResponseBytes` caps any one reply and the files of one
    /// result together.
    public var endpoint: BackendEndpoint
    public var target: Target
    /// The longest `Prefer: wait=N` asks Replicate to hold the create's reply (the API takes
    /// 1–60 s). The create's reply carries the prediction's id, the only handle to cancel it:
    /// a client that leaves while the reply is held gets its prediction cancelled only once
    /// the hold ends, so the hold is kept short and polling (with backoff) takes over.
    public var maxWaitSeconds: Int

    public init(endpoint: BackendEndpoint, target: Target, maxWaitSeconds: Int = 10) {
        self.endpoint = endpoint
        self.target = target
        self.maxWaitSeconds = maxWaitSeconds
    }
}
