// SPDX-License-Identifier: Apache-2.0
// The seam between the gateway and each kind of backend. An adapter turns one client call into
// whatever the backend speaks (an HTTP call through libcurl, a job submit-and-poll, or an
// in-process simulation) and reports back through a BackendSink in OpenAI-compatible terms.
// Adapters live on one loop (one instance per backend per loop), so they may keep
// loop-confined state without locks. hf_space, runpod, modal, replicate and http adapters
// implement the same protocol in the next issue.
import TollgateIO
public import TollgateUpstream
public import TollgateCore

/// The OpenAI-compatible operation a client asked for.
public enum APIOperation: String, Sendable, CaseIterable {
    case chatCompletions = "/v1/chat/completions"
    case completions = "/v1/completions"
    case embeddings = "/v1/embeddings"
    /// JSON in, OpenAI's image list out (`b64_json` where the backend's URLs need our secrets).
    case imageGenerations = "/v1/images/generations"
    /// multipart in (`image`, `prompt`, …), OpenAI's image list out.
    case imageEdits = "/v1/images/edits"
    /// multipart in (`file`, `model`, …), OpenAI's `{"text"}` out.
    case audioTranscriptions = "/v1/audio/transcriptions"
    /// multipart `file` or JSON `{"url"}` in, SPEC §3's `audio.diarization` object out.
    case audioDiarization = "/v1/audio/diarization"
    /// `/v1/run/<model>[/<rest>]`: any JSON or multipart body to the backend's `url` +
    /// `BackendCall.runPath`, shaped as its kind expects; the kind's result comes back.
    case run = "/v1/run"

    /// The path below `/v1` (appended to a base URL that already ends in `/v1`).
    public var pathBelowV1: String { String(rawValue.dropFirst(3)) }
}

/// How the client's request body is encoded (from its Content-Type), so an adapter that must
/// re-encode it (RunPod's `{"input": …}`, Gradio's uploads) can parse it as it streams.
public enum RequestBodyFormat: Equatable, Sendable {
    /// `application/json` (or no body at all: `bodyLength` 0).
    case json
    /// `multipart/form-data` with this boundary (its bytes, without the leading `--`).
    case multipart(boundary: [UInt8])
}

/// One call to one backend.
public struct BackendCall: Sendable {
    public var operation: APIOperation
    /// The model name the client used.
    public var model: String
    /// What the upstream should be told (the backend's `model` key, else the client's name).
    public var upstreamModel: String
    public var stream: Bool
    /// The body length when known (`nil`: streamed until the client's body ends).
    public var bodyLength: Int?
    /// The gateway's id of the request (`X-Request-ID` upstream): a value, so no String is
    /// made for it per request; it is written straight into the header.
    public var requestID: RequestID
    public var accept: String?
    /// How the body is encoded.
    public var bodyFormat: RequestBodyFormat
    /// The client's `Content-Type`, as sent (a multipart one carries its boundary): what a
    /// pass-through kind sends on.
    public var contentType: String?
    /// `.run` only: what followed `/v1/run/<model>` in the request target — empty, or `/` and
    /// the rest, query included (e.g. `/predict?x=1`); appended to the backend's base.
    public var runPath: String

    public init(operation: APIOperation, model: String, upstreamModel: String, stream: Bool, bodyLength: Int?,
                requestID: RequestID, accept: String? = nil, bodyFormat: RequestBodyFormat = .json,
                contentType: String? = nil, runPath: String = "") {
        self.bodyFormat = bodyFormat
        self.contentType = contentType
        self.runPath = runPath
        self.operation = operation
        self.model = model
        self.upstreamModel = upstreamModel
        self.stream = stream
        self.bodyLength = bodyLength
        self.requestID = requestID
        self.accept = accept
    }
}

/// Where the request body comes from (the client's body, possibly rewritten as it streams).
public protocol RequestBodySource: AnyObject {
    /// Copies the next bytes into `buffer`.
    func readBody(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk
    /// All body bytes (for in-process backends that need the whole request), if buffered.
    func bufferedBody() -> [UInt8]?
}

/// What the adapter reports back, on the loop — never from inside `invoke` (see
/// `BackendAdapter.invoke`).
public protocol BackendSink: AnyObject {
    /// The response status and the headers worth passing on: only the adapter's allowlist
    /// (SPEC §3), values free of control bytes. `contentLength` is the body's length when the
    /// backend declared one the adapter can vouch for (never for a chunked reply), else nil.
    func backendHead(status: Int, headers: [(String, String)], contentLength: Int?)
    /// Response body bytes; false asks the adapter to pause until `resumeReceiving()`.
    func backendBody(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// The call is over: how it ended, its tokens and the time facts the adapter knows.
    func backendEnded(_ report: BackendReport)
}

/// A call in progress.
public protocol BackendInvocation: AnyObject {
    /// Continues delivering the response after `backendBody` returned false.
    func resumeReceiving()
    /// More request body is available (or it ended) after `readBody` said `.wouldBlock`.
    func bodyReadable()
    /// Stops the call now (client gone, failover, deadline); the sink is not called again.
    /// A job-based call asks its platform to cancel the job through its loop's
    /// `BackendLoop.detachedCalls`, which see that request through after the call is freed.
    func cancel()
}

/// One configured backend on one loop.
public protocol BackendAdapter: AnyObject {
    var name: String { get }
    /// The edits this backend needs in the client's body for `call` (its `bodyLength` is not
    /// known yet: it depends on the edits).
    func bodyShaping(for call: BackendCall) -> BodyShaping
    /// Starts a call. The adapter reads the request body from `body` and reports to `sink`.
    /// It never calls `sink` (or `body`) before `invoke` has returned: a call that fails at
    /// once reports its end from the loop a moment later (a zero-delay timer), so the caller
    /// always holds the invocation before any report about it arrives and can never mistake a
    /// dead call for the live one (issue 7 item 5).
    func invoke(_ call: BackendCall, body: any RequestBodySource, sink: any BackendSink) -> any BackendInvocation
}
