// SPDX-License-Identifier: Apache-2.0
// What one client request cost and how it went: the seam between the exchange and metering.
// Every exchange ends by producing exactly one record (SPEC §5), handed to every sink at once
// (UsageSinks): the access log today, the SQLite writer with the metering issue.

public import TollgateCore

public struct UsageRecord: Sendable {
    /// The gateway's own unique id.
    public var id: RequestID
    /// The client's `x-request-id`, if it sent one.
    public var clientRequestID: String?
    /// The client's address (its proxy's X-Forwarded-For entry when the peer is trusted).
    public var clientAddress: String?
    /// Wall-clock start, unix seconds.
    public var timestamp: Double
    public var method: String
    public var path: String
    public var user: String?
    /// A short non-secret id of the key used (never the key or its full hash).
    public var keyID: String?
    public var model: String?
    public var task: String?
    /// The backend that answered, nil if none was reached.
    public var backend: String?
    /// Status sent to the client (499 when the client went away first).
    public var status: Int
    /// Upstream attempts made (0 when none).
    public var attempts: Int = 0
    public var latencyMs: Double
    public var ttfbMs: Double?
    /// The answering attempt's upstream first byte: its start → the backend's response head
    /// (`tollgate_upstream_ttfb_seconds`), nil when no attempt got one.
    public var upstreamTTFBMs: Double?
    public var queueMs: Double = 0
    public var coldStart: Bool = false
    /// GPU time billed: the backend's report where it gives one, else the measured upstream time.
    public var gpu: MilliGPUSeconds = .zero
    /// What the request cost on its backend's price (SPEC §5 `cost_usd`).
    public var cost: MicroDollars = .zero
    /// Measured upstream seconds (first attempt start → last byte), before any backend report.
    public var upstreamSeconds: Double = 0
    public var bytesIn: Int
    public var bytesOut: Int
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var error: String?

    @inlinable
    public init(id: RequestID, clientRequestID: String?, timestamp: Double, method: String, path: String,
                status: Int, latencyMs: Double, bytesIn: Int, bytesOut: Int) {
        self.id = id
        self.clientRequestID = clientRequestID
        self.timestamp = timestamp
        self.method = method
        self.path = path
        self.status = status
        self.latencyMs = latencyMs
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
    }
}

/// Receives finished usage records on the loop that produced them. Implementations must not
/// block: they batch, and hand work to their own thread.
public protocol UsageSink: AnyObject {
    func record(_ record: UsageRecord)
}
