// SPDX-License-Identifier: Apache-2.0
// kind: runpod — a serverless (queue-based) endpoint. Base `https://api.runpod.ai/v2/<id>`
// (runpod-python runpod/__init__.py `RUNPOD_ENDPOINT_BASE_URL`); a backend's `url` replaces
// all of it, so the same config reaches the SDK's local test API (`--rp_serve_api`, which has
// no `/v2/<id>` prefix). Operations (runpod/docs serverless/endpoints/operation-reference.mdx):
// POST /runsync[?wait=ms], POST /run, GET /status/<id>, POST /cancel/<id>, GET /health.

public struct RunPodBackendOptions: Sendable {
    /// Its `baseURL` is the base every operation is appended to (trailing slashes dropped);
    /// `apiKey` goes as `Authorization: Bearer <key>` on every call (the platform's key, never
    /// the client's); `totalTimeoutMs` bounds the whole call, polls included, then the job is
    /// cancelled.
    public var endpoint: BackendEndpoint

    public init(endpoint: BackendEndpoint) {
        self.endpoint = endpoint
        self.endpoint.baseURL = endpoint.trimmedBaseURL
    }

    /// The longest `wait` the adapter asks `/runsync` for. RunPod holds a runsync up to 90 s by
    /// default (1–300 s with `?wait`), and the job's id arrives only with the answer: a call
    /// abandoned while its runsync is held can cancel the job only once that answer comes, so
    /// the hold is kept short enough for a prompt cancel; a longer job is polled at /status.
    public static let maxRunsyncWaitMs = 30_000
    /// RunPod's floor for `wait` (operation-reference.mdx: 1000–300000 ms).
    public static let minRunsyncWaitMs = 1_000

    /// How a call submits its job.
    public enum Submit: Equatable, Sendable {
        /// POST /runsync: answered when the job ends or the wait passes (then polled).
        case runsync
        /// POST /run: answered at once with the job's id (then polled); the result is kept 30
        /// minutes instead of 1, for jobs longer than any runsync wait.
        case run
    }

    /// The submit URL for `/v1/run/<model>` + `runPath` (SPEC §3: the body goes to the base +
    /// `/<rest>`): "" is `/runsync`; `/runsync` and `/run` name the operation, with the
    /// client's query kept (e.g. `?wait=120000`). nil for any other path: a RunPod endpoint
    /// has no other operation taking a job's input. Every other route submits to /runsync.
    /// Without a query of the client's, /runsync gets `?wait=` of the time left, at most
    /// `maxRunsyncWaitMs`.
    public func submitURL(runPath: String, remainingMs: Int) -> (url: String, submit: Submit)? {
        let path: Substring, query: Substring
        if let mark = runPath.firstIndex(of: "?") {
            path = runPath[..<mark]
            query = runPath[mark...]
        } else {
            path = Substring(runPath)
            query = ""
        }
        let submit: Submit
        switch path {
        case "", "/", "/runsync", "/runsync/": submit = .runsync
        case "/run", "/run/": submit = .run
        default: return nil
        }
        let op = submit == .run ? "/run" : "/runsync"
        let baseURL = endpoint.baseURL
        if !query.isEmpty { return (baseURL + op + query, submit) }
        guard submit == .runsync else { return (baseURL + op, submit) }
        let wait = min(max(remainingMs - 1_000, Self.minRunsyncWaitMs), Self.maxRunsyncWaitMs)
        return (baseURL + op + "?wait=\(wait)", submit)
    }

    /// `jobID` was checked by `RunPodJobReply.isSafeJobID` (letters, digits, `-_.`).
    public func statusURL(jobID: String) -> String { endpoint.baseURL + "/status/" + jobID }
    public func cancelURL(jobID: String) -> String { endpoint.baseURL + "/cancel/" + jobID }
    /// The health probe: job and worker counts; it neither wakes a worker nor bills.
    public var healthURL: String { endpoint.baseURL + "/health" }
}
