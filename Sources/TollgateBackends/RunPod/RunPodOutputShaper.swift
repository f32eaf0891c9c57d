// SPDX-License-Identifier: Apache-2.0
// A COMPLETED job's `output`, unwrapped and shaped for the route the client called (SPEC §3):
// `/v1/run` gets the output as it is; the image routes OpenAI's image list; transcriptions
// `{"text"}`; diarization SPEC §3's `audio.diarization` object (ResultShaper does the shapes).
// Pure: the adapter does any fetching the plan asks for.
//
// Image URLs in an output (SPEC §3 and §7): the gateway fetches only from the backend's own
// origin (its base URL's), with the backend's key, and returns those images inline as
// `b64_json` — a URL there would need the gateway's credentials. A URL on any other origin (a
// worker's own S3 bucket or CDN, RunPod's `s3Config` uploads) is the worker's, needs none of
// our secrets, and the gateway may not fetch it: it is passed on as `{"url"}`, as OpenAI's
// image list allows.
public import TollgateCore

public enum RunPodOutputShaper {
    /// Most images one reply may fetch from the backend's origin.
    public static let maxFetches = 8

    /// One entry of an image list still being assembled.
    public enum ImageEntry: Equatable, Sendable {
        case base64(String)
        /// Passed on as is (another origin: never fetched).
        case url(String)
        /// On the backend's own origin: fetched with its key, then inlined.
        case fetch(String)
    }

    public enum Plan: Equatable, Sendable {
        /// The reply body (JSON).
        case body([UInt8])
        /// An image list whose `.fetch` entries must be fetched first.
        case images([ImageEntry])
        /// The output cannot be shaped for this route (a 502 with this text).
        case unusable(String)
    }

    /// - Parameters:
    ///   - output: the job's `output` (nil when the job reported none).
    ///   - base: the backend's base URL: its origin is the only one fetched from.
    public static func plan(operation: APIOperation, output: JSONValue?, model: String, base: String) -> Plan {
        switch operation {
        case .run:
            return .body((output ?? .null).serialized)
        case .audioTranscriptions:
            guard let output, let shaped = ResultShaper.transcription(output) else {
                return .unusable("the RunPod job's output has no transcription text")
            }
            return .body(shaped.serialized)
        case .audioDiarization:
            guard let output, let shaped = ResultShaper.diarization(output, model: model) else {
                return .unusable("the RunPod job's output has no diarization segments")
            }
            return .body(shaped.serialized)
        case .imageGenerations, .imageEdits:
            let items = output.map(ResultShaper.imageItems) ?? []
            guard !items.isEmpty else { return .unusable("the RunPod job's output has no image") }
            let baseOrigin = OriginPolicy.origin(of: base)
            var entries: [ImageEntry] = []
            var fetches = 0
            for item in items {
                switch item {
                case .base64(let b64):
                    entries.append(.base64(b64))
                case .url(let url):
                    if let baseOrigin, OriginPolicy.allows(url, origins: [baseOrigin]) {
                        fetches += 1
                        guard fetches <= maxFetches else {
                            return .unusable("the RunPod job's output names more than \(maxFetches) images to fetch")
                        }
                        entries.append(.fetch(url))
                    } else {
                        entries.append(.url(url))
                    }
                }
            }
            return .images(entries)
        case .chatCompletions, .completions, .embeddings:
            return .unusable("a RunPod job cannot answer \(operation.rawValue)")
        }
    }

    /// OpenAI's image list from finished entries (`.fetch` entries must have been replaced).
    /// All inline: ResultShaper's list; with URLs, the same shape with `{"url"}` items.
    public static func imageList(created: Int, entries: [ImageEntry]) -> [UInt8] {
        var base64: [String] = []
        for entry in entries {
            guard case .base64(let b64) = entry else { break }
            base64.append(b64)
        }
        if base64.count == entries.count { return ResultShaper.imageList(created: created, base64: base64) }
        let items: [JSONValue] = entries.compactMap { entry in
            switch entry {
            case .base64(let b64): return ["b64_json": .string(b64)]
            case .url(let url): return ["url": .string(url)]
            case .fetch: return nil
            }
        }
        let value: JSONValue = ["created": JSONValue(integer: Int64(created)), "data": .array(items)]
        return value.serialized
    }
}
