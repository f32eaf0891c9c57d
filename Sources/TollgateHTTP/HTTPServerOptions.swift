// SPDX-License-Identifier: Apache-2.0

/// Everything the HTTP layer needs to know, in its own terms (the composition root maps the
/// config's `server:` section onto it). Durations are nanoseconds.
public struct HTTPServerOptions: Sendable {
    public var host: String = "127.0.0.1"
    public var port: UInt16 = 8080
    public var workers: Int = 1
    public var maxConnections: Int = 10_000
    public var limits = HTTPParserLimits()
    /// Deadline for a whole request head, counted from accept or from its first byte → 408.
    public var headerTimeout: UInt64 = 10_000_000_000
    /// Longest gap between two body reads → 408.
    public var bodyTimeout: UInt64 = 30_000_000_000
    /// Keep-alive idle time before the connection is closed.
    public var idleTimeout: UInt64 = 75_000_000_000
    /// SIGTERM grace: how long in-flight requests may take to finish.
    public var drainTimeout: UInt64 = 30_000_000_000
    /// Longest time without write progress to a client that is not reading (nginx send_timeout).
    public var sendTimeout: UInt64 = 60_000_000_000
    /// How long to keep reading and discarding after an error response (nginx lingering close).
    public var lingerTimeout: UInt64 = 2_000_000_000
    /// Most bytes discarded while lingering.
    public var lingerMaxBytes: Int = 1 << 20
    /// Requests per connection before it is closed (nginx keepalive_requests).
    public var maxRequestsPerConnection: Int = 10_000
    /// Queued response bytes above which `write` reports backpressure.
    public var highWaterMark: Int = 256 * 1024
    /// Queued response bytes below which a blocked writer is told to resume.
    public var lowWaterMark: Int = 64 * 1024

    public init() {}
}
