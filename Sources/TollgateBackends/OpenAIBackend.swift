// SPDX-License-Identifier: Apache-2.0
// kind: openai — a pass-through to an OpenAI-compatible server (vLLM, llama.cpp, Ollama, TGI,
// or a hosted API) through libcurl. It asks the gateway for the body's model name and, on a
// streamed chat, for `stream_options.include_usage` (its `bodyShaping`); it adds the backend's
// own credentials, passes only its header allowlist, streams both ways, and reads `usage` as
// the response passes.
import TollgateIO
public import TollgateUpstream
import TollgateCore

public struct OpenAIBackendOptions: Sendable {
    public var name: String
    /// Base URL, e.g. `http://10.0.0.5:8000` or `https://api.example.com/v1`.
    public var baseURL: String
    public var apiKey: String?
    public var connectTimeoutMs: Int
    public var totalTimeoutMs: Int
    public var maxResponseBytes: Int
    /// CA certificates trusted for this backend on top of the system's (`tls.ca_file`).
    public var caFile: String?

    public init(name: String, baseURL: String, apiKey: String?, connectTimeoutMs: Int = 10_000,
                totalTimeoutMs: Int = 300_000, maxResponseBytes: Int = 1 << 30, caFile: String? = nil) {
        self.caFile = caFile
        self.name = name
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.connectTimeoutMs = connectTimeoutMs
        self.totalTimeoutMs = totalTimeoutMs
        self.maxResponseBytes = maxResponseBytes
    }

    /// The upstream URL for an operation: the client's path after the base, with one `/v1`
    /// when the base already ends in it.
    public func url(for operation: APIOperation) -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base.hasSuffix("/v1") ? base + operation.pathBelowV1 : base + operation.rawValue
    }

    /// The upstream URL for a call: `url(for:)`, except that `/v1/run/<model>/<rest>` goes to
    /// the base + `/<rest>` (SPEC §3).
    public func url(for call: BackendCall) -> String {
        guard call.operation == .run else { return url(for: call.operation) }
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + call.runPath
    }
}

public final class OpenAIBackend: BackendAdapter {
    /// Complete bodies up to this size are handed to curl whole (one write with the headers,
    /// from the transfer's own buffer); larger or still-arriving ones stream through the read
    /// callback.
    static let inlineBodyLimit = 256 << 10

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

    public let options: OpenAIBackendOptions
    private let multi: CurlMulti
    /// Built once per route: everything but the request's own headers and body (the URL, the
    /// headers every request to this backend carries, timeouts, allowlist), copied per call.
    private let chatRequest: UpstreamRequest, completionsRequest: UpstreamRequest, embeddingsRequest: UpstreamRequest
    /// The fixed headers without Content-Type, for the routes whose body type is the client's.
    private let otherFixedHeaders: UpstreamHeaderList

    public init(options: OpenAIBackendOptions, multi: CurlMulti) {
        self.options = options
        self.multi = multi
        var headers = [("Content-Type", "application/json"), ("User-Agent", "tollgate/0.1")]
        // The backend's own credentials; the client's Authorization never gets this far.
        if let key = options.apiKey, !key.isEmpty { headers.append(("Authorization", "Bearer \(key)")) }
        let fixedHeaders = UpstreamHeaderList(headers)
        otherFixedHeaders = UpstreamHeaderList(Array(headers.dropFirst()))
        func request(_ operation: APIOperation) -> UpstreamRequest {
            UpstreamRequest(url: options.url(for: operation), method: "POST", fixedHeaders: fixedHeaders,
                            connectTimeoutMs: options.connectTimeoutMs, totalTimeoutMs: options.totalTimeoutMs,
                            maxResponseBytes: options.maxResponseBytes, responseHeaders: Self.passedHeaders,
                            caFile: options.caFile)
        }
        chatRequest = request(.chatCompletions)
        completionsRequest = request(.completions)
        embeddingsRequest = request(.embeddings)
    }

    public var name: String { options.name }

    /// The upstream's model name; on a streamed chat also the usage chunk, the only place such a
    /// server reports a stream's tokens (an OpenAI-compatible server sends it only when asked).
    public func bodyShaping(for call: BackendCall) -> BodyShaping {
        BodyShaping(renamesModel: true, requestsStreamUsage: call.operation == .chatCompletions && call.stream)
    }

    public func invoke(_ call: BackendCall, body: any RequestBodySource, sink: any BackendSink) -> any BackendInvocation {
        // The route's request is read in place (the call's own parts passed beside it), not copied.
        let accept = call.accept ?? (call.stream ? "text/event-stream" : "application/json")
        let upstreamBody = Self.upstreamBody(call)
        switch call.operation {
        case .chatCompletions:
            return OpenAICall(template: chatRequest, accept: accept, requestID: call.requestID, body: upstreamBody,
                              multi: multi, bodySource: body, sink: sink)
        case .completions:
            return OpenAICall(template: completionsRequest, accept: accept, requestID: call.requestID, body: upstreamBody,
                              multi: multi, bodySource: body, sink: sink)
        case .embeddings:
            return OpenAICall(template: embeddingsRequest, accept: accept, requestID: call.requestID, body: upstreamBody,
                              multi: multi, bodySource: body, sink: sink)
        case .imageGenerations, .imageEdits, .audioTranscriptions, .audioDiarization, .run:
            // The OpenAI routes an OpenAI-compatible server may also serve (LocalAI, vLLM's
            // transcriptions), and `/v1/run` as-is: built per call, with the client's content
            // type (a multipart body carries its boundary in it).
            var request = UpstreamRequest(url: options.url(for: call), method: "POST", fixedHeaders: otherFixedHeaders,
                                          headers: [("Content-Type", call.contentType ?? "application/json")],
                                          connectTimeoutMs: options.connectTimeoutMs, totalTimeoutMs: options.totalTimeoutMs,
                                          maxResponseBytes: options.maxResponseBytes, responseHeaders: Self.passedHeaders,
                                          caFile: options.caFile)
            request.body = upstreamBody
            return OpenAICall(template: request, accept: accept, requestID: call.requestID, body: upstreamBody,
                              multi: multi, bodySource: body, sink: sink)
        }
    }
}

/// One call to an OpenAI-compatible server.
final class OpenAICall: UpstreamTransferDelegate, BackendInvocation, TimerHandler {
    private var transfer: UpstreamTransfer?
    private var sink: (any BackendSink)?
    private let body: any RequestBodySource
    private var usage = UsageScanner()
    /// True while the transfer is being started: an end reported then (curl_multi_add_handle
    /// failed) is held and delivered from the loop, never inside `invoke`.
    private var starting = true
    private var heldOutcome: UpstreamOutcome?

    init(template: borrowing UpstreamRequest, accept: String?, requestID: RequestID, body upstreamBody: UpstreamBody,
         multi: CurlMulti, bodySource body: any RequestBodySource, sink: any BackendSink) {
        self.sink = sink
        self.body = body
        let transfer = UpstreamTransfer(template: template, accept: accept, requestID: requestID, body: upstreamBody,
                                        multi: multi, delegate: self)
        starting = false
        if heldOutcome != nil {
            // Zero delay: the end is reported at the end of this loop iteration.
            transfer.loop.schedule(self, at: transfer.loop.now)
        } else {
            self.transfer = transfer
        }
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        guard let outcome = heldOutcome else { return }
        heldOutcome = nil
        report(outcome)
    }

    func upstreamHead(_ transfer: UpstreamTransfer, status: Int, headers: [(String, String)]) {
        guard !starting else { return }
        // Retry-After belongs to a 4xx the client gets as-is (SPEC §3); on a 5xx or 429 the
        // gateway decides, and on a success it means nothing.
        let passed = (400..<500).contains(status) || !headers.contains(where: { $0.0 == "retry-after" })
            ? headers : headers.filter { $0.0 != "retry-after" }
        sink?.backendHead(status: status, headers: passed, contentLength: transfer.contentLength)
    }

    func upstreamBody(_ transfer: UpstreamTransfer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !starting else { return false }
        usage.scan(bytes)
        return sink?.backendBody(bytes) ?? false
    }

    /// Also called while the transfer starts: a `.buffered` body is taken then (reading is no
    /// report; the gateway's body is complete and the attempt is current during `invoke`).
    func upstreamReadBody(_ transfer: UpstreamTransfer, into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        body.readBody(into: buffer)
    }

    func upstreamEnded(_ transfer: UpstreamTransfer, outcome: UpstreamOutcome) {
        self.transfer = nil
        if starting {
            heldOutcome = outcome
            return
        }
        report(outcome)
    }

    private func report(_ outcome: UpstreamOutcome) {
        guard let sink else { return }
        self.sink = nil
        // No GPU time of its own: the gateway's clock of the attempt is the bill.
        sink.backendEnded(BackendReport(outcome: BackendOutcome(outcome), tokens: usage.usage))
    }

    func resumeReceiving() {
        transfer?.resumeReceiving()
    }

    func bodyReadable() {
        transfer?.resumeSending()
    }

    func cancel() {
        sink = nil
        heldOutcome = nil
        transfer?.cancel()
        transfer = nil
    }
}
