// SPDX-License-Identifier: Apache-2.0
// What the gateway keeps per loop: what that loop offers its adapters (its libcurl multi
// handle, whose DNS cache is the process's CurlShare, and the calls that outlive their request)
// and the runtime of the current plan (one adapter per backend, created on first use), so a
// request and its upstream transfer share a thread. A reload swaps in a new runtime; requests
// in flight keep theirs, and the loop's detached calls run on.
import TollgateBackends
import TollgateIO
import TollgateLimits
import TollgateMetering
import TollgateUpstream
import TollgateRouting

final class GatewayLoopContext {
    let loop: EventLoop
    let backendLoop: BackendLoop
    /// Streams in flight, for the drain deadline (whatever plan they started on).
    private(set) lazy var liveStreams = LiveStreams(loop: loop)
    /// The first-byte clocks of this loop's attempts.
    private(set) lazy var firstByteWatch = FirstByteWatch(loop: loop)
    /// Spare arrays for the plain replies this loop holds for their figures.
    let heldReplyBuffers = HeldReplyBuffers()
    /// This loop's counters for /metrics (also one of its usage sinks).
    let metrics: LoopMetrics
    private(set) var runtime: PlanRuntime!
    /// The process's quota ledger (shared by every loop, kept across reloads); set by the
    /// Gateway right after the loop's responder is made. Tests that build a responder alone
    /// get one without caps.
    var quota = QuotaLedger(clock: QuotaLedger.wallClock)

    /// This loop's share of the backends' probes and idle actions.
    let supervisor: BackendSupervisor

    /// - Parameters:
    ///   - loopCount: how many loops share the backends' upkeep (backend i on loop i mod count).
    ///   - operatorLog: where pause and wake lines go (the access log's stream).
    init(loop: EventLoop, plan: GatewayPlan, curlShare: CurlShare, metrics: LoopMetrics, loopCount: Int = 1,
         operatorLog: @escaping (String) -> Void = { _ in }) {
        self.loop = loop
        self.metrics = metrics
        backendLoop = BackendLoop(loop: loop, curlShare: curlShare)
        supervisor = BackendSupervisor(loop: loop, backendLoop: backendLoop, loopIndex: loop.index, loopCount: loopCount,
                                       log: operatorLog)
        runtime = PlanRuntime(plan: plan, context: self)
        supervisor.install(plan)
    }

    /// Ends the streams still running at `deadline` (monotonic nanoseconds) with an error
    /// event, before the server closes what is left of the drain.
    func endStreams(at deadline: UInt64) {
        loop.assertInLoop()
        liveStreams.endAll(at: deadline)
        supervisor.stop()
    }

    /// Installs a new plan for the requests that start from now on.
    func install(_ plan: GatewayPlan) {
        loop.assertInLoop()
        runtime = PlanRuntime(plan: plan, context: self)
        metrics.plan = plan.metricsPlan
        supervisor.install(plan)
    }
}

/// One plan on one loop: the plan and the adapters built from it.
final class PlanRuntime {
    let plan: GatewayPlan
    private unowned let context: GatewayLoopContext
    private var adapters: [(any BackendAdapter)?]

    init(plan: GatewayPlan, context: GatewayLoopContext) {
        self.plan = plan
        self.context = context
        self.adapters = Array(repeating: nil, count: plan.backends.count)
    }

    /// Puts `adapter` in place of backend `index`'s own (tests: a scripted peer of the exchange).
    func install(_ adapter: any BackendAdapter, at index: Int) {
        guard adapters.indices.contains(index) else { return }
        adapters[index] = adapter
    }

    var loop: EventLoop { context.loop }
    var liveStreams: LiveStreams { context.liveStreams }
    var firstByteWatch: FirstByteWatch { context.firstByteWatch }
    var heldReplyBuffers: HeldReplyBuffers { context.heldReplyBuffers }
    var metrics: LoopMetrics { context.metrics }
    var quota: QuotaLedger { context.quota }

    /// The router's buffers, reused by every decision on this loop (no allocation per
    /// request once they have grown to the largest model).
    var routeScratch = RouteScratch()

    /// Starts waking backend `index` (paused by its idle action) for a request that would
    /// have gone there (issue 12 item 5).
    func wake(backend index: Int) {
        context.supervisor.wake(index, plan: plan)
    }

    func adapter(_ index: Int) -> any BackendAdapter {
        if let existing = adapters[index] { return existing }
        let made = plan.backends[index].kind.makeAdapter(on: context.backendLoop)
        adapters[index] = made
        return made
    }
}
