// SPDX-License-Identifier: Apache-2.0
// kind: simulated — see SimulatedBackend. The warmth state is the backend's, shared by the
// adapters of every loop.

public struct SimulatedKind: BackendKind {
    public var options: SimulatedBackendOptions
    public let state: SimulatedBackendState

    public init(options: SimulatedBackendOptions, state: SimulatedBackendState = SimulatedBackendState()) {
        self.options = options
        self.state = state
    }

    public func makeAdapter(on loop: BackendLoop) -> any BackendAdapter {
        SimulatedBackend(options: options, state: state, loop: loop.eventLoop)
    }
}
