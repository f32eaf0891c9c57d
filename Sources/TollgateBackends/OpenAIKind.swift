// SPDX-License-Identifier: Apache-2.0
// kind: openai — see OpenAIBackend.

public struct OpenAIKind: BackendKind {
    public var options: OpenAIBackendOptions

    public init(options: OpenAIBackendOptions) {
        self.options = options
    }

    public func makeAdapter(on loop: BackendLoop) -> any BackendAdapter {
        OpenAIBackend(options: options, rules: .openai, multi: loop.multi)
    }
}
