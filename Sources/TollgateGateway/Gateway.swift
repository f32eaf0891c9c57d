// SPDX-License-Identifier: Apache-2.0
// The composition root: event loops, the HTTP server, the per-loop responders and the log
// writer, started and stopped as one. A library (not the executable) so tests can boot it on
// 127.0.0.1 port 0.
public import TollgateHTTP
public import TollgateIO
import CLinux
import Synchronization
import TollgateCore
public import TollgateLimits
public import TollgateUpstream
public import TollgateMetering

public final class Gateway: Sendable {
    public let options: HTTPServerOptions
    public let state: GatewayState

    /// The plan requests start with now.
    public var plan: GatewayPlan { currentPlan.withLock { $0 } }

    /// Swaps in a new plan (SIGHUP, POST /admin/reload): every loop installs it for the requests that start after;
    /// requests in flight finish on the plan they started with. Listen address and worker
    /// count are not part of a plan (they need a restart).
    /// - Parameter installed: called (on a loop) once every loop runs `plan`.
    public func reload(_ plan: GatewayPlan, installed: (@Sendable () -> Void)? = nil) {
        currentPlan.withLock { $0 = plan }
        quota.setCaps(plan.quotaCaps)
        let remaining = LoopCountdown(group.loops.count)
        let contexts = self.contexts
        for loop in group.loops {
            loop.execute {
                contexts.get(on: loop)?.install(plan)
                if remaining.countDown() { installed?() }
            }
        }
        beginUptime(plan)
    }

    /// `POST /admin/reload` requests waiting for the reloading thread (ConfigReloader).
    public let reloadRequests = ReloadRequests()
    private let group: EventLoopGroup
    private let server: HTTPServer
    private let logWriter: LogWriter
    private let usageReader: UsageReader?
    private let usage: UsageWriter?
    private let contexts: PerLoop<GatewayLoopContext>
    private let currentPlan: Mutex<GatewayPlan>
    /// Uptime of the always-on backends in this run (`tollgate_backend_billed_usd_total`).
    private let uptime = BackendUptimeLedger()
    /// Per-user request rate and concurrency, for every loop and every plan: keyed by user
    /// name, so a reload keeps the usage so far and applies the new limits.
    let rateLimiter = RateLimiter()
    /// Every quota's balance (SPEC §4), shared by all loops and kept across reloads.
    public let quota: QuotaLedger

    /// - Parameters:
    ///   - options: listen address, worker count, limits and timeouts.
    ///   - logFD: where access-log lines go (stdout by default; tests pass a pipe or /dev/null).
    ///   - maxBuffered: `server.max_buffered`, request body bytes held by all loops together.
    ///   - curlShare: what every loop's upstream transfers share (one DNS cache).
    ///   - usage: the usage log's writer (opened on `storage.sqlite`; tests pass one on a
    ///     temporary file), started with the gateway and closed after its loops; nil runs
    ///     without a usage log.
    ///   - metricsSeed: the usage log's sums read at start-up, before the writer opened it
    ///     (MetricsSeed.load).
    ///   - usageReader: reads the usage log for `/v1/usage` and `/admin/usage` (nil: 503).
    ///   - metering: false leaves the per-loop request histograms out of the request path; with
    ///     `usage` nil (no usage log, so no usage counters) that is `serve --metering off`, the
    ///     benchmark's baseline.
    public init(options: HTTPServerOptions, plan: GatewayPlan, logFD: Int32 = 1,
                maxBuffered: Int = 256 << 20, curlShare: CurlShare = CurlShare(),
                usage: UsageWriter? = nil, metricsSeed: MetricsSeed = .empty,
                usageReader: UsageReader? = nil, metering: Bool = true) throws(IOError) {
        self.usageReader = usageReader
        self.options = options
        self.usage = usage
        self.state = GatewayState(usage: usage)
        let bodyBudget = RequestBodyBudget(capacity: maxBuffered)
        self.currentPlan = Mutex(plan)
        let quota = QuotaLedger(caps: plan.quotaCaps, periods: plan.quotaPeriods, clock: QuotaLedger.wallClock)
        self.quota = quota
        let group = try EventLoopGroup(count: options.workers)
        let contexts = PerLoop<GatewayLoopContext>(group)
        self.contexts = contexts
        let writer = LogWriter(outputFD: logFD)
        let state = self.state
        let routes = RouteTable()
        let rateLimiter = self.rateLimiter
        let reloadRequests = self.reloadRequests
        let metricsEndpoint = MetricsEndpoint(contexts: contexts, loopCount: group.loops.count, seed: metricsSeed,
                                              uptime: uptime, usageDropped: { usage?.droppedRows ?? 0 },
                                              committed: { usage?.committed.snapshot() ?? MetricsSnapshot() },
                                              rateLimited: { rateLimiter.refusals() },
                                              quotaRows: { quota.snapshot() })
        self.group = group
        self.logWriter = writer
        self.server = try HTTPServer(group: group, options: options) { loop in
            let accessLog = AccessLog(writer: writer)
            loop.addIterationObserver(accessLog)
            var sinks: [any UsageSink] = [accessLog]
            if let usage {
                let usageLog = UsageWriterSink(writer: usage)
                loop.addIterationObserver(usageLog)
                sinks.append(usageLog)
            }
            let metrics = LoopMetrics(plan: plan.metricsPlan)
            if metering { sinks.append(metrics) }
            let responder = GatewayResponder(loop: loop, state: state, routes: routes, plan: plan,
                                             sink: UsageSinks(sinks),
                                             bodyBudget: bodyBudget, curlShare: curlShare,
                                             metrics: metrics, metricsEndpoint: metricsEndpoint, usageReader: usageReader,
                                             rateLimiter: rateLimiter,
                                             reloadRequests: reloadRequests,
                                             loopCount: group.loops.count,
                                             operatorLog: { line in writer.submitLine(line) })
            responder.context.quota = quota
            contexts.set(responder.context, on: loop)
            return responder
        }
    }

    /// Binds, starts the loops and begins serving. Throws if the address cannot be bound.
    /// - Returns: the bound address (the real port when 0 was asked for).
    @discardableResult
    public func start() throws(IOError) -> SocketAddress {
        Curl.initialize()
        logWriter.start()
        usage?.start()
        beginUptime(plan)
        usageReader?.start()
        group.start()
        let address = try server.start()
        state.markReady()
        return address
    }

    public var address: SocketAddress? { server.address }
    public var openConnections: Int { server.connectionCount }

    static func wallClockMs() -> Int64 { Int64(tg_realtime_ns() / 1_000_000) }

    /// How long before the drain deadline streams are ended (at most).
    static let streamEndMargin: UInt64 = 500_000_000

    /// Readiness turns false now (`shutdown` does it too; this lets the caller say so after).
    public func beginDraining() {
        state.markDraining()
        reloadRequests.close(reason: "the gateway is draining")
    }

    /// Graceful stop: readiness turns false, listeners close, in-flight requests get up to
    /// `options`' drain timeout, then everything closes and the loops exit.
    /// - Returns: true when every request finished within the timeout.
    @discardableResult
    public func shutdown(drainTimeout: UInt64, interrupt: (fd: Int32, handler: () -> Bool)? = nil) -> Bool {
        beginDraining()
        // Streams still running a little before the deadline end with SPEC §3's error event;
        // the margin lets that last event reach the client before the server closes the rest.
        let margin = min(drainTimeout / 4, Self.streamEndMargin)
        let endStreamsAt = tg_monotonic_ns() + drainTimeout - margin
        contexts.forEach { $0.endStreams(at: endStreamsAt) }
        let clean = server.drain(timeout: drainTimeout, interrupt: interrupt)
        group.stop()
        group.join()
        usageReader?.stop()
        // After the loops: the rows of the requests the drain let finish are committed too.
        usage?.close()
        logWriter.close()
        return clean
    }

    /// A new uptime segment for each always-on backend of `plan` (billed idle or not), at one
    /// instant for both records: /metrics' ledger and the usage database.
    private func beginUptime(_ plan: GatewayPlan) {
        let nowNs = tg_realtime_ns()
        uptime.begin(plan.alwaysOnBackends, atMs: Int64(nowNs / 1_000_000))
        usage?.beginUptime(backends: plan.alwaysOnBackends, at: Double(nowNs) / 1e9)
    }
}

/// Counts loops down to the last one (the reload's `installed`).
private final class LoopCountdown: Sendable {
    private let left: Atomic<Int>
    init(_ count: Int) { left = Atomic(count) }
    /// true for the call that reaches zero.
    func countDown() -> Bool { left.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 }
}
