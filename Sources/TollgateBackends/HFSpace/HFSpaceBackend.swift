// SPDX-License-Identifier: Apache-2.0
// kind: hf_space — a Gradio app (a Hugging Face Space, or any Gradio 4, 5 or 6 server), called
// through Gradio's two-step HTTP API (backend-protocols.md §1):
//   GET  <base>/config                         → the API prefix and the endpoint's fn_index
//   POST <base><prefix>/upload                 ← each file of a multipart request, as it streams
//   POST <base><prefix>/call/<api>             ← {"data":[…],"session_hash"} → {"event_id"}
//   GET  <base><prefix>/call/<api>/<event_id>  → SSE: generating, complete, error, heartbeat
//   GET  <file url on the base's origin>       → each result file, returned inline
//   POST <base><prefix>/cancel                 ← when the gateway abandons the call
// `Authorization: Bearer <token>` goes on every one of them. The adapter keeps the app's
// `/config` facts for `configLifetime`, so a Space upgraded from Gradio 4 to 5 (its prefix
// moves) is seen within that time, and at once when a call finds its route gone.
import TollgateIO
import TollgateUpstream
import TollgateCore

public final class HFSpaceBackend: BackendAdapter {
    /// How long `/config` facts are trusted.
    static let configLifetimeNs: UInt64 = 300 * 1_000_000_000

    public let options: HFSpaceBackendOptions
    let backendLoop: BackendLoop
    var loop: EventLoop { backendLoop.eventLoop }
    var multi: CurlMulti { backendLoop.multi }
    /// Authorization and User-Agent, built once.
    let fixedHeaders: UpstreamHeaderList
    private var cachedConfig: GradioSpaceConfig?
    private var cachedAt: UInt64 = 0
    private var random: SplitMix64

    public init(options: HFSpaceBackendOptions, loop: BackendLoop) {
        self.options = options
        self.backendLoop = loop
        // The backend's own token; the client's Authorization never gets this far.
        fixedHeaders = UpstreamHeaderList(options.endpoint.identityHeaders)
        random = SplitMix64(seed: loop.eventLoop.now ^ UInt64(UInt(bitPattern: ObjectIdentifier(loop).hashValue)))
    }

    public var name: String { options.endpoint.name }

    /// The body is read raw: the adapter takes its fields itself.
    public func bodyShaping(for call: BackendCall) -> BodyShaping { .none }

    public func invoke(_ call: BackendCall, body: any RequestBodySource, sink: any BackendSink) -> any BackendInvocation {
        let invocation = GradioCall(backend: self, call: call, body: body, sink: sink)
        invocation.start()
        return invocation
    }

    // MARK: - Shared by the calls of this adapter

    /// The app's `/config` facts, when fetched within the lifetime.
    func freshConfig() -> GradioSpaceConfig? {
        guard let cachedConfig, loop.now &- cachedAt < Self.configLifetimeNs else { return nil }
        return cachedConfig
    }

    func store(_ config: GradioSpaceConfig) {
        cachedConfig = config
        cachedAt = loop.now
    }

    /// A call found the app's routes elsewhere (404): ask `/config` again next time.
    func forgetConfig() {
        cachedConfig = nil
    }

    /// A fresh Gradio session for one call, so its cancel names only that call's task
    /// (routes.py cancel_event cancels `<session_hash>_<fn_index>`).
    func newSessionHash() -> String {
        let a = random.next(), b = random.next()
        return "tg" + hex(a) + hex(b)
    }

    private func hex(_ value: UInt64) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { out[i] = digits[Int((value >> UInt64(60 - 4 * i)) & 0xF)] }
        return String(decoding: out, as: UTF8.self)
    }

    /// A request to the app with the backend's credentials and limits.
    func request(_ url: String, method: String = "GET", contentType: String? = nil, body: UpstreamBody = .none,
                 maxBytes: Int? = nil, accept: String? = nil) -> UpstreamRequest {
        let endpoint = options.endpoint
        return UpstreamRequest(url: url, method: method, fixedHeaders: fixedHeaders,
                               headers: contentType.map { [("Content-Type", $0)] } ?? [], accept: accept, body: body,
                               connectTimeoutMs: endpoint.connectTimeoutMs, totalTimeoutMs: endpoint.totalTimeoutMs,
                               maxResponseBytes: min(maxBytes ?? endpoint.maxResponseBytes, endpoint.maxResponseBytes),
                               caFile: endpoint.caFile)
    }
}
