// SPDX-License-Identifier: Apache-2.0
public import TollgateCore

/// Where a request body comes from.
public enum UpstreamBody: Sendable {
    case none
    /// A small body known in full: copied into the transfer's buffer and sent with the headers
    /// in one write.
    case bytes([UInt8])
    /// A complete body of `length` bytes the delegate's `upstreamReadBody` can give at once:
    /// the transfer takes it when it starts (into its handle's buffer, which curl sends without
    /// copying) and, should the delegate give less, sends the rest through the read callback.
    case buffered(length: Int)
    /// Pulled from the delegate's `upstreamReadBody`; `length` nil means chunked.
    case stream(length: Int?)
}

/// One upstream HTTP request, as the transport sees it. Built by a backend adapter from the
/// client's request; never contains the client's credentials.
public struct UpstreamRequest: Sendable {
    public var url: String
    public var method: String
    /// The backend's headers that never change (content type, credentials), built once.
    public var fixedHeaders: UpstreamHeaderList?
    /// Headers of this request only, sent before the fixed ones.
    public var headers: [(String, String)]
    /// `Accept` of this request, if any (a field, not in `headers`: no array per request).
    public var accept: String?
    /// `X-Request-ID` of this request, if any.
    public var requestID: RequestID?
    public var body: UpstreamBody
    /// Milliseconds to establish the connection (TCP + TLS).
    public var connectTimeoutMs: Int
    /// Milliseconds for the whole transfer; 0 = no limit (streams are bounded elsewhere).
    public var totalTimeoutMs: Int
    /// Largest response body accepted, in bytes.
    public var maxResponseBytes: Int
    /// Only these schemes may be used (curl's CURLOPT_PROTOCOLS_STR): a configured URL can
    /// never turn into file:// or gopher://.
    public var allowedProtocols: String
    /// The response headers the caller wants to see (framing is the transfer's own business).
    public var responseHeaders: UpstreamHeaderAllowlist
    /// A PEM file of CA certificates trusted in addition to the system's; certificate
    /// verification itself is never turned off.
    public var caFile: String?

    public init(url: String, method: String = "POST", fixedHeaders: UpstreamHeaderList? = nil,
                headers: [(String, String)] = [], accept: String? = nil, requestID: RequestID? = nil,
                body: UpstreamBody = .none,
                connectTimeoutMs: Int = 10_000, totalTimeoutMs: Int = 300_000,
                maxResponseBytes: Int = 1 << 30, allowedProtocols: String = "http,https",
                responseHeaders: UpstreamHeaderAllowlist = .none, caFile: String? = nil) {
        self.caFile = caFile
        self.url = url
        self.method = method
        self.fixedHeaders = fixedHeaders ?? UpstreamHeaderList([])
        self.headers = headers
        self.accept = accept
        self.requestID = requestID
        self.body = body
        self.connectTimeoutMs = connectTimeoutMs
        self.totalTimeoutMs = totalTimeoutMs
        self.maxResponseBytes = maxResponseBytes
        self.allowedProtocols = allowedProtocols
        self.responseHeaders = responseHeaders
    }
}

/// How a transfer ended, in the terms SPEC §3's outcome table needs.
public enum UpstreamOutcome: Equatable, Sendable, CustomStringConvertible {
    /// The response arrived in full.
    case completed
    /// Could not connect: refused, unreachable, DNS.
    case connectFailed(String)
    /// TLS handshake or certificate problem.
    case tlsFailed(String)
    /// A timeout fired (connect or total).
    case timedOut(String)
    /// The connection broke mid-way (reset, truncated body, protocol error).
    case broken(String)
    /// The response exceeded `maxResponseBytes`.
    case tooLarge
    /// We cancelled it (client gone, failover, deadline).
    case cancelled

    public var description: String {
        switch self {
        case .completed: return "completed"
        case .connectFailed(let m): return "connect failed: \(m)"
        case .tlsFailed(let m): return "TLS failed: \(m)"
        case .timedOut(let m): return "timed out: \(m)"
        case .broken(let m): return "connection broken: \(m)"
        case .tooLarge: return "response too large"
        case .cancelled: return "cancelled"
        }
    }
}

/// What a body source has for the upstream right now.
public enum UpstreamBodyChunk {
    /// This many bytes were copied into the buffer.
    case bytes(Int)
    /// Nothing yet; call `resumeSending()` when there is.
    case wouldBlock
    /// The body is complete.
    case end
    /// The body cannot be completed (client went away).
    case abort
}

/// Receives a transfer's events on the loop that runs it.
public protocol UpstreamTransferDelegate: AnyObject {
    /// The final (non-1xx) status and the allowlisted headers arrived (values free of control
    /// bytes; `transfer.contentLength` tells the body's length when it can be trusted).
    func upstreamHead(_ transfer: UpstreamTransfer, status: Int, headers: [(String, String)])
    /// Body bytes, valid only during the call. Return false to pause receiving (the bytes were
    /// taken); call `resumeReceiving()` to continue.
    func upstreamBody(_ transfer: UpstreamTransfer, _ bytes: UnsafeRawBufferPointer) -> Bool
    /// Fill `buffer` with request body bytes.
    func upstreamReadBody(_ transfer: UpstreamTransfer, into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk
    /// The transfer is over; the transfer object may be dropped.
    func upstreamEnded(_ transfer: UpstreamTransfer, outcome: UpstreamOutcome)
}
