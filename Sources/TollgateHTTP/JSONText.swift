// SPDX-License-Identifier: Apache-2.0
// Writing JSON strings by hand: error bodies and log lines are tiny and fixed in shape, and a
// JSON encoder would pull Foundation into the hot path.

public enum JSONText {
    /// `text` as a quoted JSON string (RFC 8259 §7): quotes, backslashes and control characters
    /// escaped; everything else passed through as UTF-8.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
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
