// SPDX-License-Identifier: Apache-2.0

/// The methods this server routes. Any other syntactically valid method (CONNECT, TRACE,
/// extension methods) is answered 501 by the parser, as RFC 9110 §9.1 suggests.
public enum HTTPMethod: UInt8, Sendable, CustomStringConvertible {
    case get, head, post, put, delete, patch, options

    public var description: String {
        switch self {
        case .get: return "GET"
        case .head: return "HEAD"
        case .post: return "POST"
        case .put: return "PUT"
        case .delete: return "DELETE"
        case .patch: return "PATCH"
        case .options: return "OPTIONS"
        }
    }

    /// Matches a method token exactly; methods are case-sensitive (RFC 9110 §9.1).
    static func parse(_ p: UnsafeRawBufferPointer) -> HTTPMethod? {
        switch p.count {
        case 3:
            if p[0] == 0x47, p[1] == 0x45, p[2] == 0x54 { return .get }            // GET
            if p[0] == 0x50, p[1] == 0x55, p[2] == 0x54 { return .put }            // PUT
        case 4:
            if p[0] == 0x50, p[1] == 0x4F, p[2] == 0x53, p[3] == 0x54 { return .post } // POST
            if p[0] == 0x48, p[1] == 0x45, p[2] == 0x41, p[3] == 0x44 { return .head } // HEAD
        case 5:
            if HTTPBytes.equals(p, "PATCH") { return .patch }
        case 6:
            if HTTPBytes.equals(p, "DELETE") { return .delete }
        case 7:
            if HTTPBytes.equals(p, "OPTIONS") { return .options }
        default:
            break
        }
        return nil
    }
}
