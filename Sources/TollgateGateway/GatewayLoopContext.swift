// SPDX-License-Identifier: Apache-2.0
// What the gateway keeps per loop: that loop's libcurl multi handle and one adapter per
// backend (created on first use), so a request and its upstream transfer share a thread.
import TollgateBackends
import TollgateIO
import TollgateUpstream

final class GatewayLoopContext {
    let loop: EventLoop
    let plan: GatewayPlan
    private lazy var multi = CurlMulti(loop: loop)
    private var adapters: [(any BackendAdapter)?]

    init(loop: EventLoop, plan: GatewayPlan) {
        self.loop = loop
        self.plan = plan
        self.adapters = Array(repeating: nil, count: plan.backends.count)
    }

    func adapter(_ index: Int) -> any BackendAdapter {
        if let existing = adapters[index] { return existing }
        let backend = plan.backends[index]
        let made: any BackendAdapter
        switch backend.kind {
        case .openai(let options):
            made = OpenAIBackend(options: options, multi: multi)
        case .simulated(let options, let state):
            made = SimulatedBackend(options: options, state: state, loop: loop)
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
    func cancel() {}
}
