// SPDX-License-Identifier: Apache-2.0
// What a request body is, from its Content-Type (RFC 9110 §8.3), and which a route takes
// (SPEC §3): JSON (the chat, completion, embedding and image-generation routes), multipart/
// form-data (image edits, transcriptions), either (diarization, `/v1/run`). The media type
// decides how the body is read for its `model`; whether the route takes it is checked once the
// model is known (SPEC §3 order: model, limits, then 415).
//
// A body the gateway cannot read has no model, so the order cannot hold for it. The rules:
//   - JSON routes read any body that is not multipart/form-data as JSON, as they always have
//     (`curl -d` sends application/x-www-form-urlencoded); multipart there is read for its
//     `model` field and then refused (415).
//   - Routes that take multipart read multipart/form-data for its `model` field, and JSON
//     (or, where JSON is taken, no Content-Type) for its `model` member; JSON on a
//     multipart-only route is 415 once the model passed. Any other type is 415 at once,
//     unread (and the connection closes): its model cannot be found.
//   - `/v1/run/<model>` knows its model from the path: the model's checks (404/403) come
//     first, then 415 for a type it cannot take.
//   - multipart/form-data with a missing or invalid boundary is 400 `invalid_request` at once.
import TollgateBackends
import TollgateCore

enum RequestMediaType: Equatable {
    /// `application/json` or a `+json` type (RFC 6839).
    case json
    /// No Content-Type.
    case absent
    /// `multipart/form-data` with a valid boundary.
    case multipart(boundary: [UInt8])
    /// `multipart/form-data` whose boundary is missing or invalid: why.
    case brokenMultipart(String)
    /// Any other type (its media type, lower-cased).
    case other(String)

    init(contentType: String?) {
        guard let contentType else {
            self = .absent
            return
        }
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first
            .map { $0.trimmingWhitespace().lowercased() } ?? ""
        if mediaType == "multipart/form-data" {
            do {
                self = .multipart(boundary: try MultipartBoundary.fromContentType(contentType))
            } catch {
                self = .brokenMultipart(MultipartFieldScanner.reason(error))
            }
        } else if mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json")) {
            self = .json
        } else {
            self = .other(mediaType)
        }
    }

    /// What the route does with a body of this type before its model is known.
    enum Reading: Equatable {
        /// Scanned as JSON for `model` (and `stream`).
        case json
        /// Scanned as multipart/form-data for the `model` field.
        case multipart(boundary: [UInt8])
        /// Refused before any of it is read: no `model` can be found in it (400 or 415).
        case refuse(status: Int, code: String, message: String)
    }

    /// JSON routes read a body of any non-multipart type as JSON, as they always have (a
    /// client that omits or mislabels the type keeps working); routes that take multipart read
    /// only the two types they can find a model in.
    func reading(for operation: APIOperation) -> Reading {
        switch self {
        case .multipart(let boundary): return .multipart(boundary: boundary)
        case .brokenMultipart(let why):
            return .refuse(status: 400, code: "invalid_request", message: "The multipart body cannot be read: \(why).")
        case .json: return .json
        case .absent, .other:
            let takes = Self.takes(operation)
            if !takes.multipart { return .json }
            if case .absent = self, takes.json { return .json }
            return .refuse(status: 415, code: "unsupported_media_type", message: Self.unsupportedMessage(self, operation))
        }
    }

    /// The 415's message when the route cannot take this type; nil when it can.
    func refusal(for operation: APIOperation) -> String? {
        let takes = Self.takes(operation)
        switch self {
        case .multipart: return takes.multipart ? nil : Self.unsupportedMessage(self, operation)
        case .json, .absent: return takes.json ? nil : Self.unsupportedMessage(self, operation)
        case .other: return takes.multipart ? Self.unsupportedMessage(self, operation) : nil
        case .brokenMultipart: return nil
        }
    }

    /// The body types each route takes (SPEC §3).
    static func takes(_ operation: APIOperation) -> (json: Bool, multipart: Bool) {
        switch operation {
        case .chatCompletions, .completions, .embeddings, .imageGenerations: return (true, false)
        case .imageEdits, .audioTranscriptions: return (false, true)
        case .audioDiarization, .run: return (true, true)
        }
    }

    private static func unsupportedMessage(_ type: RequestMediaType, _ operation: APIOperation) -> String {
        let given: String
        switch type {
        case .json: given = "application/json"
        case .absent: given = "no Content-Type"
        case .multipart, .brokenMultipart: given = "multipart/form-data"
        case .other(let t): given = t.isEmpty ? "an empty Content-Type" : t
        }
        let route = operation == .run ? "/v1/run" : operation.rawValue
        let takes = Self.takes(operation)
        let wanted = takes.json && takes.multipart ? "application/json or multipart/form-data"
            : takes.multipart ? "multipart/form-data" : "application/json"
        return "\(route) takes \(wanted), not \(given)."
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
