// SPDX-License-Identifier: Apache-2.0
// Why JobInputEncoder could not turn the client's body into a job's input. Each is the
// client's fault (a 400), except `bodyAborted` (the client went away); none is a trap.

public enum JobInputError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The multipart body does not parse (MultipartParser's reason, e.g. "truncated").
    case invalidMultipart(String)
    /// A text field (one without a filename) is not valid UTF-8 (RFC 3629).
    case invalidUTF8(field: String)
    /// A field name used twice, other than consecutive `name[]` parts.
    case duplicateField(String)
    /// A field name longer than `JobInputEncoder.maxFieldNameBytes`.
    case fieldNameTooLong
    /// The client's body ended early or the client went away.
    case bodyAborted

    public var description: String {
        switch self {
        case .invalidMultipart(let reason): return "invalid multipart body: \(reason)"
        case .invalidUTF8(let field): return "form field '\(field)' is not valid UTF-8"
        case .duplicateField(let field): return "form field '\(field)' appears more than once (use '\(field)[]' for a list)"
        case .fieldNameTooLong: return "a form field name is too long"
        case .bodyAborted: return "the request body was not received in full"
        }
    }
}
