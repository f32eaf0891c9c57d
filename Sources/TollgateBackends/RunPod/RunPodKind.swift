// SPDX-License-Identifier: Apache-2.0
// kind: runpod — see RunPodBackend.

public struct RunPodKind: BackendKind {
    public var options: RunPodBackendOptions

    public init(options: RunPodBackendOptions) {
        self.options = options
    }

    public func makeAdapter(on loop: BackendLoop) -> any BackendAdapter {
        RunPodBackend(options: options, loop: loop)
    }
}
