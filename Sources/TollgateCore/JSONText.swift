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

    /// Appends `text` escaped for the inside of a JSON string, without allocating (log lines).
    public static func appendEscaped(_ text: String, to buffer: inout ByteBuffer) {
        var text = text
        text.withUTF8 { bytes in
            // Runs of bytes that need no escape are copied whole.
            var runStart = 0
            for i in 0..<bytes.count {
                let b = bytes[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b == 0x7F else { continue }
                if runStart < i { buffer.append(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart..<i]))) }
                runStart = i + 1
                switch b {
                case UInt8(ascii: "\""): buffer.append("\\\"")
                case UInt8(ascii: "\\"): buffer.append("\\\\")
                case 0x0A: buffer.append("\\n")
                case 0x0D: buffer.append("\\r")
                case 0x09: buffer.append("\\t")
                default:
                    buffer.append("\\u00")
                    buffer.append(hex: UInt64(b), width: 2)
                }
            }
            if runStart < bytes.count { buffer.append(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart...]))) }
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
