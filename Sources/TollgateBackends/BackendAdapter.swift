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
public enum APIOperation: String, Sendable {
    case chatCompletions = "/v1/chat/completions"
    case completions = "/v1/completions"
    case embeddings = "/v1/embeddings"

    /// The path below `/v1` (appended to a base URL that already ends in `/v1`).
    public var pathBelowV1: String { String(rawValue.dropFirst(3)) }
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

    public init(operation: APIOperation, model: String, upstreamModel: String, stream: Bool, bodyLength: Int?,
                requestID: RequestID, accept: String? = nil) {
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
