// SPDX-License-Identifier: Apache-2.0

/// `server:` — the listening socket and the HTTP layer's bounds.
public struct ServerConfig: Sendable, Equatable {
    /// An IP literal (IPv6 without brackets) or `localhost`; names are not resolved.
    public let listenHost: String
    /// 0 lets the kernel pick (tests).
    public let listenPort: UInt16
    /// Event-loop threads; nil = `auto` (one per core).
    public let workers: Int?
    public let maxConnections: Int
    /// Bytes of request line + headers (→ 431; request line alone → 414).
    public let maxHeader: Int
    /// Bytes of request body (→ 413, decided from Content-Length).
    public let maxBody: Int
    /// Request body bytes the whole process holds in memory before and while dispatching
    /// them; at the cap reading from clients pauses (backpressure).
    public let maxBuffered: Int
    public let headerTimeout: Duration
    public let bodyTimeout: Duration
    public let idleTimeout: Duration
    public let drainTimeout: Duration
    /// IPs and CIDRs (`10.0.0.0/8`, `::1`) whose X-Forwarded-For is believed, as written.
    public let trustedProxies: [String]

    public init(listenHost: String = "127.0.0.1", listenPort: UInt16 = 8080, workers: Int? = nil,
                maxConnections: Int = 10_000, maxHeader: Int = 32 * 1024, maxBody: Int = 100 * 1024 * 1024,
                maxBuffered: Int = 256 * 1024 * 1024, headerTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(30),
                idleTimeout: Duration = .seconds(75), drainTimeout: Duration = .seconds(30),
                trustedProxies: [String] = []) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.workers = workers
        self.maxConnections = maxConnections
        self.maxHeader = maxHeader
        self.maxBody = maxBody
        self.maxBuffered = maxBuffered
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.drainTimeout = drainTimeout
        self.trustedProxies = trustedProxies
    }

    /// Every key at its default.
    public static let `default` = ServerConfig()

    /// `127.0.0.1:8080`, `[::1]:8080`.
    public var listenAddress: String {
        listenHost.contains(":") ? "[\(listenHost)]:\(listenPort)" : "\(listenHost):\(listenPort)"
    }
}
