// SPDX-License-Identifier: Apache-2.0
// kind: hf_space — see HFSpaceBackend. The app's `/config` facts are cached per adapter (one
// per loop): a short-lived cache needs no locks, and each loop asks at most once per lifetime.

public struct HFSpaceKind: BackendKind {
    public var options: HFSpaceBackendOptions

    public init(options: HFSpaceBackendOptions) {
        self.options = options
    }

    public func makeAdapter(on loop: BackendLoop) -> any BackendAdapter {
        HFSpaceBackend(options: options, loop: loop)
    }
}
