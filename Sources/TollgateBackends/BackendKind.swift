// SPDX-License-Identifier: Apache-2.0
// A configured backend's kind, as the gateway's plan holds it: immutable, shared by every loop,
// and the only thing the gateway asks about the kind. Each kind is a type (OpenAIKind,
// SimulatedKind, UnavailableKind; hf_space, runpod, modal, replicate and http next), so adding
// one adds a type here and one line to the config mapping, never a switch in the proxy.

public protocol BackendKind: Sendable {
    /// Builds this backend's adapter for one loop. Called on that loop, once per plan.
    func makeAdapter(on loop: BackendLoop) -> any BackendAdapter
    /// Why this backend is configured but not served by this version (reported at start-up;
    /// every call to it fails at once, so a model fails over past it). nil when it is served.
    var unavailableReason: String? { get }
}

extension BackendKind {
    public var unavailableReason: String? { nil }
}
