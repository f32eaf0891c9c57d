// SPDX-License-Identifier: Apache-2.0
// A succeeded prediction's `output` in the client's terms (SPEC §3), in two steps: which file
// URLs must be fetched first, then the reply. Pure: the fetching is ReplicateCall's.
//
// - images (generations, edits): every image is returned inline as `b64_json`. Replicate's
//   outputs are file URLs on its delivery host; a URL on any other origin is refused, never
//   fetched (SPEC §7: the gateway fetches only from a backend's own origins).
// - audio.transcriptions / audio.diarization: the output shaped by ResultShaper.
// - run: the output JSON as-is (SPEC §3: `output` unwrapped), except that a URL on the API's
//   own origin (`https://api.replicate.com/v1/files/…`) is fetched and put in its place as a
//   `data:` URI: such a URL needs the gateway's token, and the gateway never hands out a URL
//   that carries or needs its secrets. `replicate.delivery` URLs are public links (no token),
//   so they are left as data for the client, like any other string.
import TollgateCore

enum ReplicateOutput {
    /// Most files one result may make the gateway fetch.
    static let maxFiles = 16

    /// A fetched file: its bytes and its `Content-Type`.
    struct File: Equatable {
        var bytes: [UInt8]
        var contentType: String?
    }

    enum Failure: Error, Equatable {
        /// An image route's output held no image.
        case noImages
        /// An output URL on an origin the gateway may not fetch from.
        case foreignFile(String)
        /// More than `maxFiles` distinct URLs to fetch (the count stops there).
        case tooManyFiles
        /// The output does not have the route's shape.
        case unshapeable(APIOperation)

        var message: String {
            switch self {
            case .noImages: return "the prediction's output holds no image"
            case .foreignFile(let url):
                return "the prediction's output names a file outside the backend's origins (\(url.count > 120 ? String(url.prefix(120)) + "…" : url))"
            case .tooManyFiles: return "the prediction's output names more than \(ReplicateOutput.maxFiles) files to fetch"
            case .unshapeable(let operation): return "the prediction's output has no \(operation.rawValue) result"
            }
        }
    }

    /// The URLs to fetch (in order, without repeats) before `reply` can be made.
    static func files(operation: APIOperation, output: JSONValue, endpoints: ReplicateEndpoints) throws(Failure) -> [String] {
        var urls: [String] = []
        switch operation {
        case .imageGenerations, .imageEdits:
            let items = ResultShaper.imageItems(output)
            guard !items.isEmpty else { throw .noImages }
            for case .url(let url) in items {
                guard endpoints.files.allows(url) else { throw .foreignFile(url) }
                if !urls.contains(url) { urls.append(url) }
                // Stop at once: the list stays short, so `contains` stays cheap (an output of a
                // million URLs would otherwise cost a million squared comparisons on the loop).
                guard urls.count <= maxFiles else { throw .tooManyFiles }
            }
        case .run:
            guard collectTokenURLs(output, endpoints: endpoints, into: &urls) else { throw .tooManyFiles }
        case .audioTranscriptions, .audioDiarization, .chatCompletions, .completions, .embeddings:
            break
        }
        return urls
    }

    /// The reply's body (always JSON) once `files` holds every URL `files(…)` asked for.
    static func reply(operation: APIOperation, output: JSONValue, model: String, files: [String: File],
                      created: Int) throws(Failure) -> [UInt8] {
        switch operation {
        case .imageGenerations, .imageEdits:
            var images: [String] = []
            for item in ResultShaper.imageItems(output) {
                switch item {
                case .base64(let text): images.append(text)
                case .url(let url):
                    guard let file = files[url] else { throw .foreignFile(url) }
                    images.append(Base64.encode(file.bytes))
                }
            }
            guard !images.isEmpty else { throw .noImages }
            return ResultShaper.imageList(created: created, base64: images)
        case .audioDiarization:
            guard let shaped = ResultShaper.diarization(output, model: model) else { throw .unshapeable(operation) }
            return shaped.serialized
        case .audioTranscriptions:
            guard let shaped = ResultShaper.transcription(output) else { throw .unshapeable(operation) }
            return shaped.serialized
        case .run:
            return inlined(output, files: files).serialized
        case .chatCompletions, .completions, .embeddings:
            throw .unshapeable(operation)
        }
    }

    /// Strings of `value` that are URLs on the API's origin; false (and the walk stopped) once
    /// there are more than `maxFiles`. `value` came from the parser, which bounds its depth, so
    /// the recursion is bounded too.
    private static func collectTokenURLs(_ value: JSONValue, endpoints: ReplicateEndpoints, into urls: inout [String]) -> Bool {
        switch value {
        case .string(let s):
            if isURL(s), endpoints.api.allows(s), !urls.contains(s) { urls.append(s) }
            return urls.count <= maxFiles
        case .array(let items):
            for item in items where !collectTokenURLs(item, endpoints: endpoints, into: &urls) { return false }
            return true
        case .object(let object):
            for member in object.members where !collectTokenURLs(member.value, endpoints: endpoints, into: &urls) { return false }
            return true
        case .null, .bool, .number:
            return true
        }
    }

    /// `value` with each fetched URL replaced by a `data:` URI of its bytes (RFC 2397).
    private static func inlined(_ value: JSONValue, files: [String: File]) -> JSONValue {
        switch value {
        case .string(let s):
            guard let file = files[s] else { return value }
            return .string("data:" + mediaType(file.contentType) + ";base64," + Base64.encode(file.bytes))
        case .array(let items):
            return .array(items.map { inlined($0, files: files) })
        case .object(let object):
            return .object(JSONObject(object.members.map { ($0.key, inlined($0.value, files: files)) }))
        case .null, .bool, .number:
            return value
        }
    }

    private static func isURL(_ s: String) -> Bool {
        let head = s.prefix(8).lowercased()
        return head.hasPrefix("http://") || head.hasPrefix("https://")
    }

    /// The media type of a `Content-Type` (parameters dropped), when it is a plain
    /// `type/subtype` token pair; else `application/octet-stream`.
    static func mediaType(_ contentType: String?) -> String {
        guard let contentType else { return "application/octet-stream" }
        var type = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        while type.first == " " || type.first == "\t" { type.removeFirst() }
        while type.last == " " || type.last == "\t" { type.removeLast() }
        let parts = type.split(separator: "/", omittingEmptySubsequences: false)
        let isToken: (Substring) -> Bool = { part in
            !part.isEmpty && part.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A) || "!#$&-^_.+".utf8.contains(b)
            }
        }
        guard parts.count == 2, isToken(parts[0]), isToken(parts[1]) else { return "application/octet-stream" }
        return type.lowercased()
    }
}
