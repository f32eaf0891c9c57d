// SPDX-License-Identifier: Apache-2.0
// kind: replicate — each call is a Replicate prediction (ReplicateCall): the client's body is
// the prediction's `input`, the result comes back shaped for the route (images inline as
// b64_json, SPEC §3's diarization object, `{"text"}`, or `/v1/run`'s output as-is), billed by
// `metrics.predict_time`. Served routes: the image, audio and diarization routes and
// `/v1/run`; a chat, completion or embedding call fails over at once (Replicate's language
// models speak their own input schema, not OpenAI's).
import TollgateIO
import TollgateUpstream
import TollgateCore

public final class ReplicateBackend: BackendAdapter {
    private let config: ReplicateCallConfig
    private let loop: BackendLoop

    public init(options: ReplicateBackendOptions, loop: BackendLoop) {
        config = ReplicateCallConfig(options: options)
        self.loop = loop
    }

    public var name: String { config.options.endpoint.name }

    /// The body is the prediction's input as the client sent it: no `model` rename (a
    /// Replicate backend's `model` names what runs, not a field of the input).
    public func bodyShaping(for call: BackendCall) -> BodyShaping { .none }

    public func invoke(_ call: BackendCall, body: any RequestBodySource, sink: any BackendSink) -> any BackendInvocation {
        switch call.operation {
        case .imageGenerations, .imageEdits, .audioTranscriptions, .audioDiarization, .run:
            return ReplicateCall(config: config, loop: loop, call: call, body: body, sink: sink)
        case .chatCompletions, .completions, .embeddings:
            // Reported from the loop, never inside `invoke`; the next candidate takes it.
            return RefusedCall(loop: loop.eventLoop, outcome: .connectFailed("a replicate backend does not serve \(call.operation.rawValue)"),
                               sink: sink)
        }
    }
}
