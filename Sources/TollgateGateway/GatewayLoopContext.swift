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
        }
        adapters[index] = made
        return made
    }
}
