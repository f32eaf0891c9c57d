// SPDX-License-Identifier: Apache-2.0
// One health probe of one backend (SPEC §4): a GET that neither wakes nor bills a GPU — RunPod's
// /health counts, the Hub's runtime API for a Space, or a configured path on the backend's own
// origin — never an inference route. The reply is capped (64 KiB: a health answer is a small
// JSON object) and the call bounded by `timeoutMs`; the completion runs exactly once, on the
// loop, after `start` returned, unless the returned call is cancelled first. A target that cannot
// be probed (a path off the origin, a bad space id, an invalid HF_ENDPOINT) completes `.down`
// with the reason, without sending anything. The scheduler (the gateway) decides when to probe.
import TollgateUpstream

public enum HealthProbe {
    /// Cap on a probe's reply.
    public static let maxReplyBytes = 64 << 10

    @discardableResult
    public static func start(_ target: ProbeTarget, endpoint: BackendEndpoint, hub: HubEndpoint,
                             on loop: BackendLoop, timeoutMs: Int,
                             completion: @escaping (ProbeVerdict) -> Void) -> BufferedCall {
        let total = max(timeoutMs, 1)
        switch target {
        case .path(let path):
            guard let url = ProbeReading.pathURL(base: endpoint.trimmedBaseURL, path: path) else {
                return refused("health path is not a path on the backend's origin", on: loop, completion: completion)
            }
            // The backend's own origin: its own credential may go along (a server may guard /health).
            let request = smallRequest(url, headers: endpoint.identityHeaders, connectMs: endpoint.connectTimeoutMs,
                                       totalMs: total, caFile: endpoint.caFile)
            return BufferedCall.start(request, on: loop) { completion(ProbeReading.path($0)) }
        case .runpod:
            guard OriginPolicy.origin(of: endpoint.baseURL) != nil else {
                return refused("backend URL is not an http(s) URL", on: loop, completion: completion)
            }
            let backend = RunPodBackend(options: RunPodBackendOptions(endpoint: endpoint), loop: loop)
            return backend.probeHealth(timeoutMs: total) { completion(ProbeReading.runpod($0)) }
        case .hubRuntime(let space):
            guard hub.isValid else {
                return refused("the Hub endpoint (HF_ENDPOINT) is not an http(s) URL", on: loop, completion: completion)
            }
            guard let url = hub.spaceURL(space, "runtime") else {
                return refused("space is not a Hub id (owner/name)", on: loop, completion: completion)
            }
            // The Space's token belongs to the Hub (SPEC §7); the backend's CA file does not.
            let request = smallRequest(url, headers: endpoint.identityHeaders, connectMs: endpoint.connectTimeoutMs,
                                       totalMs: total, caFile: nil)
            return BufferedCall.start(request, on: loop) { completion(ProbeReading.hubRuntime($0)) }
        }
    }

    /// The one shape of a probe's or an idle call's request: small reply, bounded in time,
    /// the connect timeout within the whole.
    static func smallRequest(_ url: String, method: String = "GET", headers: [(String, String)],
                             accept: String? = "application/json", body: UpstreamBody = .none,
                             connectMs: Int, totalMs: Int, caFile: String?) -> UpstreamRequest {
        let total = max(totalMs, 1)
        return UpstreamRequest(url: url, method: method, fixedHeaders: UpstreamHeaderList(headers), accept: accept,
                               body: body, connectTimeoutMs: max(min(connectMs, total), 1), totalTimeoutMs: total,
                               maxResponseBytes: maxReplyBytes, caFile: caFile)
    }

    private static func refused(_ reason: String, on loop: BackendLoop,
                                completion: @escaping (ProbeVerdict) -> Void) -> BufferedCall {
        BufferedCall.finished(BufferedReply(status: 0, headers: [], body: [], outcome: .connectFailed(reason)), on: loop) { _ in
            completion(.down(reason))
        }
    }
}
