// SPDX-License-Identifier: Apache-2.0
// Pause and wake calls of a backend's `idle` policy (SPEC §2, issue 12 item 5). A Space is paused
// with the Hub's POST /api/spaces/{space}/pause and woken with POST …/restart — "the only
// programmatic way out of PAUSED" (huggingface_hub `restart_space`; backend-protocols.md §1.6);
// both carry the backend's token and go only to the Hub. An `http` action sends the configured
// request as configured (its own headers only) and has no wake: the next request wakes the box.
// Replies are capped at 64 KiB, calls bounded by `timeoutMs`, completion exactly once on the loop
// after the call returned (unless cancelled); a call that cannot be made (bad URL, method,
// header, space id or HF_ENDPOINT) completes `.failed` without sending anything.
import TollgateCore
import TollgateUpstream

public enum IdleCalls {
    /// Header names a configured call may not set: the transfer owns the message framing and
    /// the connection (RFC 9112 §6, RFC 9110 §7.2, §7.6.1).
    static let reservedHeaders: Set<String> = ["host", "content-length", "transfer-encoding", "connection", "te",
                                               "upgrade", "expect", "keep-alive", "proxy-connection"]

    @discardableResult
    public static func pause(_ call: IdleCall, endpoint: BackendEndpoint, hub: HubEndpoint, on loop: BackendLoop,
                             timeoutMs: Int, completion: @escaping (IdleCallResult) -> Void) -> BufferedCall {
        switch call {
        case .space(let space):
            return hubPost(space, "pause", endpoint: endpoint, hub: hub, on: loop, timeoutMs: timeoutMs, completion: completion)
        case .http(let method, let url, let headers):
            // The backend's extra CA is trusted for its own origin only.
            let caFile = OriginPolicy.isSameOrigin(url, endpoint.baseURL) ? endpoint.caFile : nil
            switch httpRequest(method: method, url: url, headers: headers, connectMs: endpoint.connectTimeoutMs,
                               timeoutMs: timeoutMs, caFile: caFile) {
            case .failure(let problem):
                return failed(problem.text, on: loop, completion: completion)
            case .success(let request):
                return BufferedCall.start(request, on: loop) { reply in
                    completion(result(reply, what: "idle call"))
                }
            }
        }
    }

    /// Only `.space` has a wake (restart); `.http` completes `.done` on the loop's next pass
    /// without a call (and returns nil).
    @discardableResult
    public static func wake(_ call: IdleCall, endpoint: BackendEndpoint, hub: HubEndpoint, on loop: BackendLoop,
                            timeoutMs: Int, completion: @escaping (IdleCallResult) -> Void) -> BufferedCall? {
        switch call {
        case .space(let space):
            return hubPost(space, "restart", endpoint: endpoint, hub: hub, on: loop, timeoutMs: timeoutMs, completion: completion)
        case .http:
            // Not inside `wake`, like every other completion; kept alive by its timer.
            _ = BufferedCall.finished(BufferedReply(status: 200, headers: [], body: [], outcome: .completed), on: loop) { _ in
                completion(.done)
            }
            return nil
        }
    }

    /// Why a configured call cannot be sent (never quoting a header value).
    struct Problem: Error, Equatable {
        var text: String
    }

    /// The configured request, checked: a method SPEC §2 allows, an http(s) URL the OriginPolicy
    /// parses (no userinfo, no fragment), header names that are RFC 9110 tokens and not framing,
    /// values without control bytes (no header injection).
    static func httpRequest(method: String, url: String, headers: [IdleCall.Header], connectMs: Int, timeoutMs: Int,
                            caFile: String?) -> Result<UpstreamRequest, Problem> {
        guard IdleCall.allowedMethods.contains(method) else { return .failure(Problem(text: "idle request method is not one of GET, POST, PUT, PATCH, DELETE")) }
        guard OriginPolicy.origin(of: url) != nil, !url.contains("#") else {
            return .failure(Problem(text: "idle request url is not an http(s) URL"))
        }
        var fixed: [(String, String)] = []
        for header in headers {
            guard isToken(header.name), !reservedHeaders.contains(header.name.lowercased()) else {
                return .failure(Problem(text: "idle request header name is not allowed"))
            }
            guard header.value.utf8.allSatisfy({ ($0 >= 0x20 && $0 != 0x7F) || $0 == 0x09 }) else {
                return .failure(Problem(text: "idle request header \(header.name) has a control byte"))
            }
            fixed.append((header.name, header.value))
        }
        if !fixed.contains(where: { $0.0.lowercased() == "user-agent" }) { fixed.insert(("User-Agent", "tollgate/0.1"), at: 0) }
        // A body-less POST/PUT/PATCH still says Content-Length: 0 (RFC 9110 §8.6).
        let body: UpstreamBody = method == "GET" || method == "DELETE" ? .none : .bytes([])
        return .success(HealthProbe.smallRequest(url, method: method, headers: fixed, accept: nil, body: body,
                                                 connectMs: connectMs, totalMs: timeoutMs, caFile: caFile))
    }

    private static func hubPost(_ space: String, _ operation: String, endpoint: BackendEndpoint, hub: HubEndpoint,
                                on loop: BackendLoop, timeoutMs: Int, completion: @escaping (IdleCallResult) -> Void) -> BufferedCall {
        guard hub.isValid else { return failed("the Hub endpoint (HF_ENDPOINT) is not an http(s) URL", on: loop, completion: completion) }
        guard let url = hub.spaceURL(space, operation) else {
            return failed("space is not a Hub id (owner/name)", on: loop, completion: completion)
        }
        // No body (huggingface_hub sends none); the token goes to the Hub only.
        let request = HealthProbe.smallRequest(url, method: "POST", headers: endpoint.identityHeaders, body: .bytes([]),
                                               connectMs: endpoint.connectTimeoutMs, totalMs: timeoutMs, caFile: nil)
        return BufferedCall.start(request, on: loop) { reply in
            var outcome = result(reply, what: "Hub \(operation)")
            if case .failed(let text) = outcome, reply.outcome == .completed { outcome = .failed(text + ProbeReading.hubHint(reply.status)) }
            completion(outcome)
        }
    }

    static func result(_ reply: BufferedReply, what: String) -> IdleCallResult {
        guard reply.outcome == .completed else { return .failed("\(what) failed: \(ProbeReading.clean(reply.outcome.description))") }
        guard (200..<300).contains(reply.status) else { return .failed("\(what) answered HTTP \(reply.status)") }
        return .done
    }

    private static func failed(_ reason: String, on loop: BackendLoop,
                               completion: @escaping (IdleCallResult) -> Void) -> BufferedCall {
        BufferedCall.finished(BufferedReply(status: 0, headers: [], body: [], outcome: .connectFailed(reason)), on: loop) { _ in
            completion(.failed(reason))
        }
    }

    /// RFC 9110 §5.6.2 token: 1*tchar.
    static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(HeaderParameterScanner.isTokenChar)
    }
}
