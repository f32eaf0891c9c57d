// SPDX-License-Identifier: Apache-2.0
// kind: runpod — a RunPod serverless endpoint driven as a job: the client's body goes to
// `/runsync` as `{"input": …}`, a job still queued or running when runsync answers is polled at
// `/status/<id>` with backoff until the backend's `timeout`, and its `output` comes back shaped
// for the route (RunPodOutputShaper). Every job the gateway abandons — client gone, failover,
// timeout — is cancelled at `/cancel/<id>` through the loop's DetachedCalls, so it stops
// billing after the exchange is gone (SPEC §3). One adapter per backend per loop.
import TollgateIO
import TollgateUpstream
import TollgateCore

public final class RunPodBackend: BackendAdapter {
    /// Most jobs a loop keeps waiting for after their call was abandoned mid-submit (their id
    /// comes only with runsync's answer, and only then can they be cancelled).
    static let maxLingering = 64
    /// Most status polls per call (besides the deadline): a bound on requests, whatever the
    /// timeout (at the 5 s ceiling, 1000 polls is over an hour).
    static let maxPolls = 1_000
    /// A status, cancel or health answer is a small JSON object; an output can be large (images
    /// inline), so only the submit and the polls that may carry it get `max_response`.
    static let smallReplyCap = 64 << 10

    public let options: RunPodBackendOptions
    let loop: BackendLoop
    /// Fixed on every call: the platform's key, JSON in and out.
    let fixedHeaders: UpstreamHeaderList
    /// Headers for a fetch of an image on the backend's own origin (no body: no Content-Type).
    let fetchHeaders: UpstreamHeaderList
    /// Calls abandoned mid-submit still waiting for their job's id (bounded by `maxLingering`).
    var lingering = 0
    /// The SDK's local API (`--rp_serve_api`) serves /status only as POST (runpod-python
    /// rp_fastapi.py); the hosted API as GET. Learned from a 405 and kept for this loop.
    var statusMethod = "GET"

    public init(options: RunPodBackendOptions, loop: BackendLoop) {
        self.options = options
        self.loop = loop
        let headers = options.endpoint.identityHeaders
        fetchHeaders = UpstreamHeaderList(headers)
        fixedHeaders = UpstreamHeaderList([("Content-Type", "application/json")] + headers)
    }

    public var name: String { options.endpoint.name }

    /// The worker may want the upstream model name in its input.
    public func bodyShaping(for call: BackendCall) -> BodyShaping {
        BodyShaping(renamesModel: true, requestsStreamUsage: false)
    }

    public func invoke(_ call: BackendCall, body: any RequestBodySource, sink: any BackendSink) -> any BackendInvocation {
        RunPodJob(backend: self, call: call, body: body, sink: sink)
    }

    /// A request to this endpoint with its key; `totalMs` bounds it (at least 1 ms).
    func request(url: String, method: String, body: UpstreamBody, totalMs: Int, cap: Int,
                 fixed: UpstreamHeaderList? = nil) -> UpstreamRequest {
        let total = max(totalMs, 1)
        return UpstreamRequest(url: url, method: method, fixedHeaders: fixed ?? fixedHeaders, accept: "application/json",
                               body: body, connectTimeoutMs: min(options.endpoint.connectTimeoutMs, total), totalTimeoutMs: total,
                               maxResponseBytes: cap, caFile: options.endpoint.caFile)
    }

    /// Asks the platform to cancel `jobID`; sent whatever becomes of the caller.
    func sendCancel(jobID: String) {
        let cancel = request(url: options.cancelURL(jobID: jobID), method: "POST", body: .bytes([]),
                             totalMs: 10_000, cap: Self.smallReplyCap)
        loop.detachedCalls.start(cancel)
    }

    /// Probes `GET /health` once (the health checker of a later issue schedules it); the
    /// result arrives on the loop, after this returns. The returned call may be cancelled.
    @discardableResult
    public func probeHealth(timeoutMs: Int = 10_000, completion: @escaping (RunPodProbeResult) -> Void) -> BufferedCall {
        let probe = request(url: options.healthURL, method: "GET", body: .none, totalMs: timeoutMs,
                            cap: Self.smallReplyCap, fixed: fetchHeaders)
        return BufferedCall.start(probe, on: loop) { reply in
            switch reply.outcome {
            case .completed:
                if reply.isSuccess, let health = RunPodHealth.parse(reply.body) {
                    completion(.healthy(health))
                } else {
                    completion(.badReply(status: reply.status))
                }
            default:
                completion(.unreachable(reply.outcome.description))
            }
        }
    }
}
