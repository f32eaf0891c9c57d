// SPDX-License-Identifier: Apache-2.0
// What the gateway keeps per loop: that loop's libcurl multi handle (its DNS cache is the
// process's CurlShare) and the runtime of the current plan (one adapter per backend, created on
// first use), so a request and its upstream transfer share a thread. A reload swaps in a new
// runtime; requests in flight keep theirs.
import TollgateBackends
import TollgateIO
import TollgateUpstream

final class GatewayLoopContext {
    let loop: EventLoop
    private let curlShare: CurlShare
    private(set) lazy var multi = CurlMulti(loop: loop, share: curlShare)
    private(set) var runtime: PlanRuntime!

    init(loop: EventLoop, plan: GatewayPlan, curlShare: CurlShare) {
        self.loop = loop
        self.curlShare = curlShare
        runtime = PlanRuntime(plan: plan, context: self)
    }

    /// Installs a new plan for the requests that start from now on.
    func install(_ plan: GatewayPlan) {
        loop.assertInLoop()
        runtime = PlanRuntime(plan: plan, context: self)
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

    var loop: EventLoop { context.loop }

    func adapter(_ index: Int) -> any BackendAdapter {
        if let existing = adapters[index] { return existing }
        let backend = plan.backends[index]
        let made: any BackendAdapter
        switch backend.kind {
        case .openai(let options):
            made = OpenAIBackend(options: options, multi: context.multi)
        case .simulated(let options, let state):
            made = SimulatedBackend(options: options, state: state, loop: context.loop)
        case .unavailable(let reason):
            made = UnavailableBackend(name: backend.name, reason: reason)
        }
        adapters[index] = made
        return made
    }
}

/// The adapter for a kind not served yet: it fails every call at once, as a connect failure,
/// so the request moves on to the model's next candidate.
final class UnavailableBackend: BackendAdapter, BackendInvocation {
    let name: String
    let reason: String

    init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }

    func invoke(_ call: BackendCall, body: any RequestBodySource, sink: any BackendSink) -> any BackendInvocation {
        sink.backendEnded(outcome: .connectFailed(reason), usage: TokenUsage(), reportedGPUSeconds: nil, coldStart: false)
        return self
    }

    func resumeReceiving() {}
    func bodyReadable() {}
    func cancel() {}
}
