// SPDX-License-Identifier: Apache-2.0
// What sets the pass-through kinds apart. `openai`, `http` and `modal` all send the client's
// request on as it came (to the backend's URL + the route's path, or + the `/v1/run` rest),
// with the backend's own credentials and never the client's, and stream the reply back; they
// share OpenAIBackend and PassThroughCall and differ only in these rules.

public struct PassThroughRules: Sendable {
    /// A streamed chat asks for `stream_options.include_usage` (an OpenAI-compatible server
    /// reports a stream's tokens only when asked). Off for `http`: its body goes as-is.
    public var requestsStreamUsage: Bool
    /// Headers every request to the backend carries besides its `api_key` (Modal's proxy
    /// auth), from config only.
    public var extraHeaders: [(String, String)]
    /// Same-origin 303s followed with GET, at most this many in one call; 0: none (any 3xx is
    /// the gateway's 502 `backend_redirect`).
    public var maxRedirects: Int
    /// The call reports its own upstream time as GPU time (`GPUTime.measured`).
    public var reportsMeasuredTime: Bool

    public init(requestsStreamUsage: Bool, extraHeaders: [(String, String)] = [], maxRedirects: Int = 0,
                reportsMeasuredTime: Bool = false) {
        self.requestsStreamUsage = requestsStreamUsage
        self.extraHeaders = extraHeaders
        self.maxRedirects = maxRedirects
        self.reportsMeasuredTime = reportsMeasuredTime
    }

    /// kind `openai`: vLLM, llama.cpp, Ollama, TGI, hosted APIs.
    public static let openai = PassThroughRules(requestsStreamUsage: true)

    /// kind `http`: any service (a FastAPI worker behind a tunnel); the body goes as the client
    /// sent it (only a configured `model` rename), GPU time is the gateway's clock of the call.
    public static let http = PassThroughRules(requestsStreamUsage: false)

    /// kind `modal`: `http` plus Modal's proxy-auth headers (`requires_proxy_auth=True`:
    /// modal-client `_partial_function.py`) and its 303s after 150 s, followed with GET on the
    /// endpoint's own origin. Each leg is another ≤150 s wait, so 20 hops (what browsers allow,
    /// modal.com/docs/guide/webhook-timeouts) cover 50 minutes; the backend's `timeout` bounds
    /// the whole call. GPU time is the measured upstream time (Modal bills per container-second
    /// and reports nothing per call).
    public static func modal(tokenID: String?, tokenSecret: String?) -> PassThroughRules {
        var headers: [(String, String)] = []
        if let id = tokenID, !id.isEmpty { headers.append(("Modal-Key", id)) }
        if let secret = tokenSecret, !secret.isEmpty { headers.append(("Modal-Secret", secret)) }
        return PassThroughRules(requestsStreamUsage: false, extraHeaders: headers, maxRedirects: 20,
                                reportsMeasuredTime: true)
    }
}
