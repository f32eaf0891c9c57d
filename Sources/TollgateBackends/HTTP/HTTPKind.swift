// SPDX-License-Identifier: Apache-2.0
// kind: http — a service of the operator's own (a FastAPI worker on a Koyeb/Vast/Colab box
// behind a tunnel, or the local box) spoken to as-is: the client's body and Content-Type to
// `url` + the route's path (one `/v1` when `url` already ends in it, as for `openai`; SPEC §3),
// or `url` + the rest of `/v1/run/<model>/<rest>`; the backend's `api_key` as a Bearer token,
// never the client's; the reply streamed back through the same header allowlist as `openai`.
// A pass-through (OpenAIBackend with PassThroughRules.http); GPU time is the measured time.

public struct HTTPKind: BackendKind {
    public var options: OpenAIBackendOptions

    public init(options: OpenAIBackendOptions) {
        self.options = options
    }

    public func makeAdapter(on loop: BackendLoop) -> any BackendAdapter {
        OpenAIBackend(options: options, rules: .http, multi: loop.multi)
    }
}
