// SPDX-License-Identifier: Apache-2.0
// kind: replicate — see ReplicateBackend.

public struct ReplicateKind: BackendKind {
    public var options: ReplicateBackendOptions

    public init(options: ReplicateBackendOptions) {
        self.options = options
    }

    public func makeAdapter(on loop: BackendLoop) -> any BackendAdapter {
        ReplicateBackend(options: options, loop: loop)
    }
}
