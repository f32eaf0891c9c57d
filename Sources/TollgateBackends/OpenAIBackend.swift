// SPDX-License-Identifier: Apache-2.0
// kind: openai — a pass-through to an OpenAI-compatible server (vLLM, llama.cpp, Ollama, TGI,
// or a hosted API) through libcurl. It asks the gateway for the body's model name and, on a
// streamed chat, for `stream_options.include_usage` (its `bodyShaping`); it adds the backend's
// own credentials, passes only its header allowlist, streams both ways, and reads `usage` as
// the response passes.
import TollgateIO
public import TollgateUpstream
import TollgateCore

/// What the pass-through kinds (openai, http, modal) know of their backend: its endpoint, onto
/// which each route's URL is built.
public struct OpenAIBackendOptions: Sendable {
    public var endpoint: BackendEndpoint

    public init(endpoint: BackendEndpoint) {
        self.endpoint = endpoint
    }

    /// The upstream URL for an operation: the client's path after the base, with one `/v1`
    /// when the base already ends in it.
    public func url(for operation: APIOperation) -> String {
        let base = endpoint.trimmedBaseURL
        return base.hasSuffix("/v1") ? base + operation.pathBelowV1 : base + operation.rawValue
    }

    /// The upstream URL for a call: `url(for:)`, except that `/v1/run/<model>/<rest>` goes to
    /// the base + `/<rest>` (SPEC §3).
    public func url(for call: BackendCall) -> String {
        guard call.operation == .run else { return url(for: call.operation) }
        return endpoint.trimmedBaseURL + call.runPath
    }
}

public final class OpenAIBackend: BackendAdapter {
    /// Complete bodies up to this size are handed to curl whole (one write with the headers,
    /// from the transfer's own buffer); larger or still-arriving ones stream through the read
    /// callback.
    static let inlineBodyLimit = 256 << 10

    /// A diarization reply is read whole to be reshaped (SPEC §3): at most this much. Hours of
    /// audio make a few thousand segments, well under a MiB of JSON.
    static let diarizationReplyLimit = 8 << 20

    /// A known length means the gateway has the whole body (`BackendCall.bodyLength`); the
    /// transfer takes it at its start, and streams whatever it could not take.
    static func upstreamBody(_ call: BackendCall) -> UpstreamBody {
        guard let length = call.bodyLength, length <= inlineBodyLimit else { return .stream(length: call.bodyLength) }
        return .buffered(length: length)
    }

    /// SPEC §3: the upstream headers a client may see. Everything else an OpenAI-compatible
    /// server sends (openai-organization, openai-project, its x-ratelimit-*, set-cookie, …)
    /// describes our account with the upstream, not the client's request.
    static let passedHeaders = UpstreamHeaderAllowlist(["content-type", "content-disposition", "cache-control", "retry-after"])
    /// The same, plus the Location a kind that follows redirects reads (and never passes on).
    static let passedHeadersAndLocation = UpstreamHeaderAllowlist(["content-type", "content-disposition", "cache-control",
                                                                   "retry-after", "location"])

    public let options: OpenAIBackendOptions
    public let rules: PassThroughRules
    private let multi: CurlMulti
    /// Built once per route: everything but the request's own headers and body (the URL, the
    /// headers every request to this backend carries, timeouts, allowlist), copied per call.
    private let chatRequest: UpstreamRequest, completionsRequest: UpstreamRequest, embeddingsRequest: UpstreamRequest
    /// The fixed headers without Content-Type, for the routes whose body type is the client's.
    private let otherFixedHeaders: UpstreamHeaderList
    /// The GET a followed 303 becomes (its URL set per hop), when the kind follows them.
    private let redirects: RedirectFollowing?

    public init(options: OpenAIBackendOptions, rules: PassThroughRules = .openai, multi: CurlMulti) {
        self.options = options
        self.rules = rules
        self.multi = multi
        let endpoint = options.endpoint
        // The backend's own credentials; the client's Authorization never gets this far.
        let headers = [("Content-Type", "application/json")] + endpoint.identityHeaders + rules.extraHeaders
        let fixedHeaders = UpstreamHeaderList(headers)
        otherFixedHeaders = UpstreamHeaderList(Array(headers.dropFirst()))
        let allowlist = rules.maxRedirects > 0 ? Self.passedHeadersAndLocation : Self.passedHeaders
        func request(_ operation: APIOperation) -> UpstreamRequest {
            UpstreamRequest(url: options.url(for: operation), method: "POST", fixedHeaders: fixedHeaders,
                            connectTimeoutMs: endpoint.connectTimeoutMs, totalTimeoutMs: endpoint.totalTimeoutMs,
                            maxResponseBytes: endpoint.maxResponseBytes, responseHeaders: allowlist,
                            caFile: endpoint.caFile)
        }
        chatRequest = request(.chatCompletions)
        completionsRequest = request(.completions)
        embeddingsRequest = request(.embeddings)
        if rules.maxRedirects > 0 {
            // RFC 9110 §15.4.4: a 303 is followed with GET, so the body and its type stay behind.
            let get = UpstreamRequest(url: endpoint.baseURL, method: "GET", fixedHeaders: otherFixedHeaders,
                                      connectTimeoutMs: endpoint.connectTimeoutMs, totalTimeoutMs: endpoint.totalTimeoutMs,
                                      maxResponseBytes: endpoint.maxResponseBytes, responseHeaders: allowlist,
                                      caFile: endpoint.caFile)
            redirects = RedirectFollowing(template: get, maxHops: rules.maxRedirects)
        } else {
            redirects = nil
        }
    }

    public var name: String { options.endpoint.name }

    /// The upstream's model name (when the backend's `model` key renames it); on a streamed chat
    /// to an OpenAI-compatible server also the usage chunk, the only place such a server reports
    /// a stream's tokens (it sends it only when asked).
    public func bodyShaping(for call: BackendCall) -> BodyShaping {
        BodyShaping(renamesModel: true,
                    requestsStreamUsage: rules.requestsStreamUsage && call.operation == .chatCompletions && call.stream)
    }

    public func invoke(_ call: BackendCall, body: any RequestBodySource, sink: any BackendSink) -> any BackendInvocation {
        // The route's request is read in place (the call's own parts passed beside it), not copied.
        let accept = call.accept ?? (call.stream ? "text/event-stream" : "application/json")
        let upstreamBody = Self.upstreamBody(call)
        switch call.operation {
        case .chatCompletions:
            return PassThroughCall(template: chatRequest, accept: accept, requestID: call.requestID, body: upstreamBody,
                                   multi: multi, bodySource: body, sink: sink, redirects: redirects,
                                   reportsMeasuredTime: rules.reportsMeasuredTime)
        case .completions:
            return PassThroughCall(template: completionsRequest, accept: accept, requestID: call.requestID, body: upstreamBody,
                                   multi: multi, bodySource: body, sink: sink, redirects: redirects,
                                   reportsMeasuredTime: rules.reportsMeasuredTime)
        case .embeddings:
            return PassThroughCall(template: embeddingsRequest, accept: accept, requestID: call.requestID, body: upstreamBody,
                                   multi: multi, bodySource: body, sink: sink, redirects: redirects,
                                   reportsMeasuredTime: rules.reportsMeasuredTime)
        case .imageGenerations, .imageEdits, .audioTranscriptions, .audioDiarization, .run:
            // The OpenAI routes an OpenAI-compatible server may also serve (LocalAI, vLLM's
            // transcriptions), and `/v1/run` as-is: built per call, with the client's content
            // type (a multipart body carries its boundary in it).
            let shaping = call.operation == .audioDiarization ? Self.diarizationShaping(model: call.model) : nil
            var request = UpstreamRequest(url: options.url(for: call), method: "POST", fixedHeaders: otherFixedHeaders,
                                          headers: [("Content-Type", call.contentType ?? "application/json")],
                                          connectTimeoutMs: options.endpoint.connectTimeoutMs, totalTimeoutMs: options.endpoint.totalTimeoutMs,
                                          maxResponseBytes: options.endpoint.maxResponseBytes, responseHeaders: redirects?.template.responseHeaders ?? Self.passedHeaders,
                                          caFile: options.endpoint.caFile)
            if let shaping { request.maxResponseBytes = min(request.maxResponseBytes, shaping.maxBytes) }
            request.body = upstreamBody
            return PassThroughCall(template: request, accept: accept, requestID: call.requestID, body: upstreamBody,
                                   multi: multi, bodySource: body, sink: sink, redirects: redirects, shaping: shaping,
                                   reportsMeasuredTime: rules.reportsMeasuredTime)
        }
    }

    /// A diarization reply (`segments`, or pyannote's `diarization`, times as numbers or
    /// strings) as SPEC §3's object, named after the client's model.
    static func diarizationShaping(model: String) -> ReplyShaping {
        ReplyShaping(maxBytes: diarizationReplyLimit, contentType: "application/json", shape: { bytes in
            guard let reply = try? JSONValue.parse(bytes), let shaped = ResultShaper.diarization(reply, model: model) else {
                return nil
            }
            return shaped.serialized
        }, unshapeable: "the backend's diarization reply has no `segments` or `diarization` list")
    }
}
