// SPDX-License-Identifier: Apache-2.0
// Turning what a platform returned (a RunPod job's `output`, a Replicate prediction's `output`,
// a Gradio event's data, a Modal function's reply) into the shapes clients are promised in
// SPEC §3. Pure functions over JSONValue: no I/O, no fetching (URLs come back as data for the
// adapter to judge against its origins).

public import TollgateCore

public enum ResultShaper {
    /// How far `output` wrappers and image containers are followed: results are shallow, and
    /// a bound keeps a hostile reply from costing more than a few lookups.
    static let maxNesting = 8

    // MARK: - Diarization

    /// SPEC §3's diarization object,
    /// `{"object":"audio.diarization","model","duration","speakers","segments":[{"start","end","speaker"}],
    /// "usage":{"type":"duration","seconds"}}`, from a `segments` list or a pyannote-style
    /// `diarization` list (or the list itself), possibly wrapped in `output` objects.
    ///
    /// Each item needs `start` and `end` (numbers, or strings holding an RFC 8259 number such
    /// as `"1.25"`) and `speaker` or `label` (a string or a number); items missing one are
    /// skipped. Numbers keep their literal text. `duration` is the reported `duration` (next to
    /// the list or above it), else the largest `end`, else 0. `speakers` are the distinct labels
    /// sorted by their UTF-8 bytes. Nil when no such list is found.
    public static func diarization(_ output: JSONValue, model: String) -> JSONValue? {
        var node = output
        var reportedDuration: JSONValue?
        var list: [JSONValue]?
        for _ in 0..<maxNesting {
            if case .array(let items) = node {
                list = items
                break
            }
            guard case .object = node else { return nil }
            if let d = node["duration"].flatMap(number) { reportedDuration = d }
            if let items = node["segments"]?.arrayValue ?? node["diarization"]?.arrayValue {
                list = items
                break
            }
            guard let inner = node["output"] else { return nil }
            node = inner
        }
        guard let list else { return nil }

        var segments: [JSONValue] = []
        var speakers = Set<String>()
        var lastEnd: (value: Double, literal: JSONValue)?
        for item in list {
            guard let start = item["start"].flatMap(number), let end = item["end"].flatMap(number),
                  let speaker = item["speaker"].flatMap(label) ?? item["label"].flatMap(label) else { continue }
            segments.append(["start": start, "end": end, "speaker": .string(speaker)])
            speakers.insert(speaker)
            if let e = end.doubleValue, e > (lastEnd?.value ?? -Double.infinity) { lastEnd = (e, end) }
        }
        let duration = reportedDuration ?? lastEnd?.literal ?? .number("0")
        let sorted = speakers.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        return [
            "object": "audio.diarization",
            "model": .string(model),
            "duration": duration,
            "speakers": .array(sorted.map { .string($0) }),
            "segments": .array(segments),
            "usage": ["type": "duration", "seconds": duration],
        ]
    }

    /// A number, or a string holding one (surrounding spaces ignored) as that number.
    static func number(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .number(let literal):
            return value.doubleValue == nil ? nil : .number(literal)
        case .string(let s):
            let trimmed = s.trimmingSpaces
            guard JSONValue.isNumberLiteral(trimmed), JSONValue.number(trimmed).doubleValue != nil else { return nil }
            return .number(trimmed)
        default:
            return nil
        }
    }

    /// A speaker label: a non-empty string, or a number's text (`0` → "0").
    private static func label(_ value: JSONValue) -> String? {
        switch value {
        case .string(let s): return s.isEmpty ? nil : s
        case .number(let literal): return literal
        default: return nil
        }
    }

    // MARK: - Transcription

    /// OpenAI's `{"text": …}` from a bare string, or an object's `text` / `transcription`
    /// string (looking inside `output` wrappers). Nil otherwise.
    public static func transcription(_ output: JSONValue) -> JSONValue? {
        var node = output
        for _ in 0..<maxNesting {
            switch node {
            case .string(let s):
                return ["text": .string(s)]
            case .object:
                if let s = node["text"]?.stringValue ?? node["transcription"]?.stringValue {
                    return ["text": .string(s)]
                }
                guard let inner = node["output"] else { return nil }
                node = inner
            default:
                return nil
            }
        }
        return nil
    }

    // MARK: - Images

    /// Member names that hold images, in the order they are tried: an object's images are those
    /// of the first of these members that yields any (so a Gradio FileData's `url` wins over its
    /// server-side `path`, and nothing is counted twice). A `path` names a file on the
    /// backend's disk, so only a URL or data URI counts there: `/tmp/gradio/abcd` would
    /// otherwise pass for base64.
    static let imageKeys = ["b64_json", "image", "images", "url", "data", "output", "path"]

    /// Most images taken from one result (OpenAI's `n` is at most 10): a hostile result listing
    /// a million URLs costs a million fetch decisions in every adapter otherwise.
    public static let maxImages = 64

    /// The images in a result: a string (a `data:…;base64,` URI gives its payload, an
    /// `http(s)://` URL a `.url`, any other string `.base64` when it decodes as base64, else
    /// nothing), a list (each element, in order), or an object (see `imageKeys`); the first
    /// `maxImages` of them.
    public static func imageItems(_ output: JSONValue) -> [ImageItem] {
        var items: [ImageItem] = []
        collectImages(output, depth: 0, bareBase64: true, into: &items)
        return items
    }

    private static func collectImages(_ value: JSONValue, depth: Int, bareBase64: Bool, into items: inout [ImageItem]) {
        guard depth < maxNesting, items.count < maxImages else { return }
        switch value {
        case .string(let s):
            if let item = imageItem(s, bareBase64: bareBase64) { items.append(item) }
        case .array(let elements):
            for element in elements {
                guard items.count < maxImages else { return }
                collectImages(element, depth: depth + 1, bareBase64: bareBase64, into: &items)
            }
        case .object:
            for key in imageKeys {
                guard let member = value[key] else { continue }
                let before = items.count
                collectImages(member, depth: depth + 1, bareBase64: key != "path", into: &items)
                if items.count > before { return }
            }
        default:
            break
        }
    }

    /// One string as an image, or nil; a string that is neither a URL nor a data URI counts
    /// only when `bareBase64`.
    static func imageItem(_ s: String, bareBase64: Bool = true) -> ImageItem? {
        let lower = s.prefix(8).lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return .url(s) }
        if lower.hasPrefix("data:") {
            // RFC 2397: data:[<mediatype>][;base64],<data>. Only base64 payloads are images here.
            guard let comma = s.utf8.firstIndex(of: UInt8(ascii: ",")) else { return nil }
            let header = s[s.startIndex..<comma].lowercased()
            guard header.hasSuffix(";base64") else { return nil }
            let payload = String(s[s.index(after: comma)...])
            guard !payload.isEmpty, Base64.decode(payload) != nil else { return nil }
            return .base64(payload)
        }
        guard bareBase64, !s.isEmpty, Base64.decode(s) != nil else { return nil }
        return .base64(s)
    }

    /// OpenAI's images response, `{"created":…,"data":[{"b64_json":…},…]}`, as bytes.
    public static func imageList(created: Int, base64: [String]) -> [UInt8] {
        let value: JSONValue = [
            "created": JSONValue(integer: Int64(created)),
            "data": .array(base64.map { ["b64_json": .string($0)] }),
        ]
        return value.serialized
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line ends.
    fileprivate var trimmingSpaces: String {
        let bytes = Array(utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
