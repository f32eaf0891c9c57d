// SPDX-License-Identifier: Apache-2.0
// The create's body, `{["version":"…",]"input":<the client's body>}`, streamed by
// JobInputEncoder (multipart files as `data:` URLs, the form Replicate's file inputs take:
// research/backend-protocols.md §4). It also tells whether the body was sent whole: only then
// can Replicate have created a prediction, and only then may a cancelled call keep its create
// running to learn the prediction's id (nothing more is read from the client).
import TollgateUpstream

final class ReplicateInputBody: BufferedCallBodyProvider {
    private let encoder: JobInputEncoder
    private(set) var isComplete = false

    init(source: any RequestBodySource, format: RequestBodyFormat, prefix: String) throws(JobInputError) {
        encoder = try JobInputEncoder(source: source, format: format, prefix: prefix, fileEncoding: .dataURL)
    }

    /// Why the client's body could not be encoded, after `read` returned `.abort`.
    var failure: JobInputError? { encoder.failure }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        let chunk = encoder.read(into: buffer)
        if case .end = chunk { isComplete = true }
        return chunk
    }
}
