// SPDX-License-Identifier: Apache-2.0
// The parts of a `/v1/run/<model>[/<rest>]` request target (SPEC §3): the model is the path
// segment after `/v1/run/`, percent-decoded (RFC 3986 §2.1) so a name with a reserved
// character can still be given (`a%2Fb`); what follows it — `/rest` and the query, as sent —
// is appended to the backend's base URL untouched (BackendCall.runPath), since it is the
// backend's path, not ours.
import TollgateHTTP

struct RunTarget: Equatable {
    /// The model's name, decoded.
    let model: String
    /// The segment as sent (the usage row's path is `/v1/run/` + this).
    let rawModel: String
    /// "" or what followed the model segment in the target: `/rest…` and/or `?query`.
    let runPath: String

    static let prefix = "/v1/run/"

    /// Why the rest cannot go to the backend, or nil. A `.` or `..` segment would leave the
    /// backend's base path (`url: https://host/app` + `/../admin`): libcurl removes dot
    /// segments before sending (RFC 3986 §5.2.4, CURLOPT_PATH_AS_IS off), and a server or proxy
    /// may first decode `%2e`, `%2f` or `%5c`, or drop a `;` path parameter (`..;/`, as Tomcat
    /// does). So the path is checked decoded, split at `/` and `\`, each segment up to its `;`;
    /// a dot inside a segment (`v1.2`, `..x`) and anything in the query are fine.
    var restRefusal: String? {
        let path = runPath.utf8.prefix { $0 != UInt8(ascii: "?") }
        let decoded = Self.percentDecodedBytes(Array(path)) ?? Array(path)
        let escapes = decoded.split(omittingEmptySubsequences: false) { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") }
            .contains { segment in
                let name = segment.prefix { $0 != UInt8(ascii: ";") }
                return name.elementsEqual([UInt8(ascii: ".")]) || name.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")])
            }
        guard escapes else { return nil }
        return "The path after /v1/run/<model> has a `.` or `..` segment; it would leave the backend's base path."
    }

    init?(_ head: HTTPRequestHead) {
        self.init(target: head.target)
    }

    /// Nil unless `target` starts with `/v1/run/` and names a non-empty, decodable model.
    init?(target: String) {
        let bytes = Array(target.utf8)
        let prefix = Array(Self.prefix.utf8)
        guard bytes.count > prefix.count, bytes.starts(with: prefix) else { return nil }
        var end = prefix.count
        while end < bytes.count, bytes[end] != UInt8(ascii: "/"), bytes[end] != UInt8(ascii: "?") { end += 1 }
        guard end > prefix.count else { return nil }
        let raw = Array(bytes[prefix.count..<end])
        guard let decoded = Self.percentDecoded(raw), !decoded.isEmpty else { return nil }
        model = decoded
        rawModel = String(decoding: raw, as: UTF8.self)
        runPath = String(decoding: bytes[end...], as: UTF8.self)
    }

    /// `%XX` → the byte; nil for a broken escape or a result that is not UTF-8 text without
    /// control characters.
    static func percentDecoded(_ raw: [UInt8]) -> String? {
        guard let out = percentDecodedBytes(raw) else { return nil }
        guard !out.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return nil }
        return String(validating: out, as: UTF8.self)
    }

    /// `%XX` → the byte; nil for a broken escape.
    static func percentDecodedBytes(_ raw: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            if raw[i] == UInt8(ascii: "%") {
                guard i + 2 < raw.count, let hi = hex(raw[i + 1]), let lo = hex(raw[i + 2]) else { return nil }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(raw[i])
                i += 1
            }
        }
        return out
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
