// SPDX-License-Identifier: Apache-2.0
// Writing JSON strings by hand: error bodies and log lines are tiny and fixed in shape, and a
// JSON encoder would pull Foundation into the hot path.


public enum JSONText {
    /// `text` as a quoted JSON string (RFC 8259 §7): quotes, backslashes and control characters
    /// escaped; everything else passed through as UTF-8.
    public static func quoted(_ text: String) -> String {
        var buffer = ByteBuffer()
        buffer.append(byte: UInt8(ascii: "\""))
        appendEscaped(text, to: &buffer)
        buffer.append(byte: UInt8(ascii: "\""))
        return String(decoding: buffer.readable, as: UTF8.self)
    }

    /// Appends `text` escaped for the inside of a JSON string, without allocating (log lines):
    /// one reservation of the worst case (six bytes per byte), then RegionWriter's escaper.
    public static func appendEscaped(_ text: String, to buffer: inout ByteBuffer) {
        let bound = text.utf8.count &* 6
        guard bound > 0 else { return }
        _ = buffer.writeWithUnsafeMutableBytes(minimumWritable: bound) { region in
            var writer = RegionWriter(region)
            writer.append(jsonEscaped: text)
            return writer.count
        }
    }

    /// An OpenAI-shaped error body: `{"error":{"message","type","code"}}`.
    public static func errorBody(message: String, type: String, code: String?, param: String? = nil) -> String {
        let codeJSON = code.map(quoted) ?? "null"
        let paramJSON = param.map(quoted) ?? "null"
        return "{\"error\":{\"message\":\(quoted(message)),\"type\":\(quoted(type)),\"param\":\(paramJSON),\"code\":\(codeJSON)}}"
    }

    /// The OpenAI error `type` for a status code.
    public static func errorType(forStatus status: Int) -> String {
        switch status {
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 408, 504: return "timeout_error"
        case 429: return "rate_limit_error"
        case 400..<500: return "invalid_request_error"
        default: return "server_error"
        }
    }
}
