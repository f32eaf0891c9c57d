// SPDX-License-Identifier: Apache-2.0
// A configured backend's kind, as the gateway's plan holds it: immutable, shared by every loop,
// and the only thing the gateway asks about the kind. Each kind is a type (OpenAIKind,
// HTTPKind, ModalKind, RunPodKind, ReplicateKind, HFSpaceKind, SimulatedKind), so adding one
// adds a type and one line to the config mapping, never a switch in the proxy.

public protocol BackendKind: Sendable {
    /// Builds this backend's adapter for one loop. Called on that loop, once per plan.
    func makeAdapter(on loop: BackendLoop) -> any BackendAdapter
}
