// SPDX-License-Identifier: Apache-2.0
// The edits an adapter wants in the client's JSON body on its way to the backend. The gateway
// applies them while the body streams through (only it sees the bytes as they arrive, and a
// replay to the next candidate needs the original), so each kind states what it needs and the
// gateway never asks which kind it talks to.

public struct BodyShaping: Equatable, Sendable {
    /// `model` becomes the call's `upstreamModel` when that differs from the client's name.
    public var renamesModel: Bool
    /// `stream_options.include_usage` is made true, so a stream ends with its usage chunk even
    /// when the client declined it (an OpenAI-compatible server sends usage on a stream only
    /// when asked; the gateway withholds that chunk from a client that did not ask).
    public var requestsStreamUsage: Bool

    public init(renamesModel: Bool, requestsStreamUsage: Bool) {
        self.renamesModel = renamesModel
        self.requestsStreamUsage = requestsStreamUsage
    }

    /// The body goes as the client sent it.
    public static let none = BodyShaping(renamesModel: false, requestsStreamUsage: false)
}
