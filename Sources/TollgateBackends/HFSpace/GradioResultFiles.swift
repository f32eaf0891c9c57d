// SPDX-License-Identifier: Apache-2.0
// The files in a Gradio result and how they are handed to the client. Gradio returns each
// output file as a FileData dict whose `url` is `{root}{prefix}/file={path}` on the app's own
// origin (processing_utils.py; backend-protocols.md §1.3) — a URL that needs the Space's token
// when the Space is private. The gateway never hands out such a URL (SPEC §3): it fetches the
// file (from the app's origin only, with the token) and returns its bytes inline — base64 in
// OpenAI's image list, a `data:` URI in place of `url` on `/v1/run`. Pure.
public import TollgateCore

enum GradioResultFiles {
    /// Limits on one result: files fetched, and how deep the output is walked.
    static let maxFiles = 32
    static let maxDepth = 32

    /// One file in the output.
    struct FileRef: Equatable {
        /// Where to fetch it: the FileData's `url`, or the app's `/file=` route for its `path`.
        var url: String
        var mimeType: String?
    }

    /// Whether `value` is a FileData dict (Gradio ≥ 4 tags it with `meta._type`; a dict with
    /// a string `path` and a `url` key is one too, as older apps send them).
    static func isFileData(_ value: JSONValue) -> Bool {
        guard value.objectValue != nil, value["path"]?.stringValue != nil else { return false }
        if value["meta"]?["_type"]?.stringValue == "gradio.FileData" { return true }
        return value["url"] != nil
    }

    /// Where the file of a FileData dict is: its `url` when given, else `fileRoute` + path.
    /// Gradio 4 and 5 write `url` as `{root}/file={path}` unquoted (processing_utils.py
    /// _move_to_cache), Gradio 6 quotes the path (client_utils.encode_file_path, `quote(path,
    /// safe="/")`): a raw space or non-ASCII byte is percent-encoded here (RFC 3986 §2.1) so
    /// the URL parses — the origin check then judges it as before — and a bare `path` is quoted
    /// as Gradio 6 does, so `?` or `#` in a file name stays part of the path.
    static func reference(_ value: JSONValue, fileRoute: String) -> FileRef? {
        guard isFileData(value) else { return nil }
        let mime = value["mime_type"]?.stringValue
        if let url = value["url"]?.stringValue, !url.isEmpty { return FileRef(url: escapingUnsafeBytes(url), mimeType: mime) }
        guard let path = value["path"]?.stringValue, !path.isEmpty else { return nil }
        return FileRef(url: fileRoute + quotedPath(path), mimeType: mime)
    }

    /// `url` with every byte no URL may hold raw (controls, space, DEL, non-ASCII, backslash)
    /// percent-encoded. Never changes what the authority is: such a byte there made the URL
    /// unusable before, and a `%` there is still refused by OriginPolicy.
    static func escapingUnsafeBytes(_ url: String) -> String {
        guard url.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: "\\") }) else { return url }
        var out: [UInt8] = []
        out.reserveCapacity(url.utf8.count + 16)
        for byte in url.utf8 {
            if byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "\\") { appendPercent(byte, to: &out) } else { out.append(byte) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Python's `urllib.parse.quote(path, safe="/")`: RFC 3986 unreserved bytes and `/` kept.
    static func quotedPath(_ path: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(path.utf8.count)
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                 UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.append(byte)
            default:
                appendPercent(byte, to: &out)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func appendPercent(_ byte: UInt8, to out: inout [UInt8]) {
        let hex = Array("0123456789ABCDEF".utf8)
        out.append(UInt8(ascii: "%"))
        out.append(hex[Int(byte >> 4)])
        out.append(hex[Int(byte & 0x0F)])
    }

    /// Every FileData in `output`, depth-first in order (at most `maxFiles`).
    static func files(in output: JSONValue, fileRoute: String) -> [FileRef] {
        var found: [FileRef] = []
        collect(output, fileRoute: fileRoute, depth: 0, into: &found)
        return found
    }

    private static func collect(_ value: JSONValue, fileRoute: String, depth: Int, into found: inout [FileRef]) {
        guard depth < maxDepth, found.count < maxFiles else { return }
        if let ref = reference(value, fileRoute: fileRoute) {
            found.append(ref)
            return
        }
        switch value {
        case .array(let elements):
            for element in elements { collect(element, fileRoute: fileRoute, depth: depth + 1, into: &found) }
        case .object(let object):
            for member in object.members { collect(member.value, fileRoute: fileRoute, depth: depth + 1, into: &found) }
        default:
            break
        }
    }

    /// `output` with each FileData's `url` replaced, in the order `files(in:)` found them:
    /// `replacements[i]` for the i-th (nil: `url` becomes null — a file that was not fetched
    /// is not handed out by its address either).
    static func replacingURLs(in output: JSONValue, with replacements: [String?], fileRoute: String) -> JSONValue {
        var next = 0
        return replace(output, replacements, &next, fileRoute: fileRoute, depth: 0)
    }

    private static func replace(_ value: JSONValue, _ replacements: [String?], _ next: inout Int,
                                fileRoute: String, depth: Int) -> JSONValue {
        // Past the walk's depth nothing is inspected, so nothing is handed out either.
        guard depth < maxDepth else { return .null }
        if reference(value, fileRoute: fileRoute) != nil, var object = value.objectValue {
            let replacement = next < replacements.count ? replacements[next] : nil
            next += 1
            object["url"] = replacement.map { JSONValue.string($0) } ?? .null
            return .object(object)
        }
        switch value {
        case .array(let elements):
            return .array(elements.map { replace($0, replacements, &next, fileRoute: fileRoute, depth: depth + 1) })
        case .object(let object):
            var copy = JSONObject()
            for member in object.members {
                copy.append(key: member.key, value: replace(member.value, replacements, &next, fileRoute: fileRoute, depth: depth + 1))
            }
            return .object(copy)
        default:
            return value
        }
    }

    /// `replacingURLs(in: output, with: <files[i] as data: URIs>, fileRoute:).serialized`,
    /// written in one pass: each fetched file is base64-encoded straight into the JSON text
    /// and let go (set to nil in `files`), so a large result is held about twice (its bytes,
    /// the reply), never as a data: URI string and then its serialized copy as well.
    static func serializedReplacingURLs(in output: JSONValue, files: inout [[UInt8]?], mimeTypes: [String?],
                                        fileRoute: String) -> [UInt8] {
        var out: [UInt8] = []
        let fileBytes = files.reduce(0) { $0 &+ ($1?.count ?? 0) }
        out.reserveCapacity(fileBytes / 3 &* 4 &+ files.count &* 64 &+ 4096)
        var next = 0
        write(output, files: &files, mimeTypes: mimeTypes, next: &next, fileRoute: fileRoute, depth: 0, into: &out)
        return out
    }

    private static func write(_ value: JSONValue, files: inout [[UInt8]?], mimeTypes: [String?], next: inout Int,
                              fileRoute: String, depth: Int, into out: inout [UInt8]) {
        // The same walk as `replace`, member for member.
        guard depth < maxDepth else { return out += Array("null".utf8) }
        if reference(value, fileRoute: fileRoute) != nil, let object = value.objectValue {
            let index = next
            next += 1
            // `object["url"] = …` sets the last member named url, or appends one.
            let urlMember = object.members.lastIndex { $0.key == "url" }
            out.append(UInt8(ascii: "{"))
            for (n, member) in object.members.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.string(member.key).write(into: &out)
                out.append(UInt8(ascii: ":"))
                if n == urlMember { writeDataURI(index, files: &files, mimeTypes: mimeTypes, into: &out) } else { member.value.write(into: &out) }
            }
            if urlMember == nil {
                if !object.members.isEmpty { out.append(UInt8(ascii: ",")) }
                out += Array("\"url\":".utf8)
                writeDataURI(index, files: &files, mimeTypes: mimeTypes, into: &out)
            }
            out.append(UInt8(ascii: "}"))
            return
        }
        switch value {
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (n, element) in elements.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                write(element, files: &files, mimeTypes: mimeTypes, next: &next, fileRoute: fileRoute, depth: depth + 1, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (n, member) in object.members.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.string(member.key).write(into: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, files: &files, mimeTypes: mimeTypes, next: &next, fileRoute: fileRoute, depth: depth + 1, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        default:
            value.write(into: &out)
        }
    }

    /// `files[index]` as a JSON string holding its data: URI (null when it was not fetched),
    /// the file then let go. The media type is token characters and base64 its alphabet: no
    /// byte of either needs a JSON escape (RFC 8259 §7).
    private static func writeDataURI(_ index: Int, files: inout [[UInt8]?], mimeTypes: [String?], into out: inout [UInt8]) {
        guard index < files.count, let bytes = files[index] else { return out += Array("null".utf8) }
        files[index] = nil
        let type = index < mimeTypes.count ? mimeTypes[index] : nil
        out += Array("\"data:\(mediaType(type));base64,".utf8)
        var encoder = Base64Encoder()
        encoder.encode(bytes, into: &out)
        encoder.finish(into: &out)
        out.append(UInt8(ascii: "\""))
    }

    /// Outputs of `generating` events are passed on without fetching (a stream would stall on
    /// every frame): their files' URLs are removed instead.
    static func withoutURLs(_ output: JSONValue, fileRoute: String) -> JSONValue {
        replacingURLs(in: output, with: [], fileRoute: fileRoute)
    }

    /// A `data:` URI (RFC 2397) of `bytes` (the reply itself is written by
    /// `serializedReplacingURLs`, which encodes the same URI in place).
    static func dataURI(_ bytes: [UInt8], mimeType: String?) -> String {
        "data:\(mediaType(mimeType));base64," + Base64.encode(bytes)
    }

    /// A Content-Type as RFC 2397's `mediatype`: `type/subtype` then `;attribute=value` for each
    /// parameter made of token characters (RFC 9110 §5.6.2), spaces around them dropped — a
    /// server's "text/plain; charset=utf-8" keeps its charset; anything else (quoted values,
    /// commas, control bytes) is left out, and a type that is not `token/token` gives
    /// application/octet-stream.
    static func mediaType(_ contentType: String?) -> String {
        let fallback = "application/octet-stream"
        guard let contentType else { return fallback }
        let pieces = contentType.split(separator: ";", omittingEmptySubsequences: false).map(trimmed)
        guard let type = pieces.first, isTypeName(type) else { return fallback }
        var out = type.lowercased()
        for parameter in pieces.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, isToken(pair[0]), isToken(pair[1]) else { continue }
            out += ";" + pair[0].lowercased() + "=" + pair[1]
        }
        return out
    }

    private static func trimmed(_ text: Substring) -> Substring {
        var text = text
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return text
    }

    private static func isTypeName(_ text: Substring) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy(isToken)
    }

    /// RFC 9110 §5.6.2 token: one or more tchar — less `%`, which a URI reads as an escape.
    private static func isToken(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { b in
            switch b {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
            default: return "!#$&'*+-.^_`|~".utf8.contains(b)
            }
        }
    }
}
