// SPDX-License-Identifier: Apache-2.0
// Base URLs of backends, parsed strictly: the gateway only ever talks to these origins, so
// what counts as "the origin" must be unambiguous. Userinfo is refused (credentials belong in
// api_key, not in a URL that ends up in logs), and so are query and fragment on a base URL.

/// An absolute http(s) URL.
public struct BackendURL: Sendable, Equatable, CustomStringConvertible {
    /// `http` or `https`, lower-case.
    public let scheme: String
    /// Lower-cased host name or IP; IPv6 without brackets.
    public let host: String
    /// The explicit port, else 80/443.
    public let port: UInt16
    /// Path without a trailing slash; empty for the root.
    public let path: String
    /// The query without `?` (only where allowed: idle requests); nil when none.
    public let query: String?

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case scheme
        case userinfo
        case query
        case fragment
        case host
        case port
        case characters

        public var description: String {
            switch self {
            case .scheme: return "must start with http:// or https://"
            case .userinfo: return "must not contain a user name or password (put credentials in api_key)"
            case .query: return "must not have a query (?…); a base URL is a scheme, host, port and path"
            case .fragment: return "must not have a fragment (#…)"
            case .host: return "has no valid host"
            case .port: return "has an invalid port (1-65535)"
            case .characters: return "contains spaces or control characters"
            }
        }
    }

    /// Parses `text`; `allowQuery` admits `?…` (full request URLs, not base URLs).
    public static func parse(_ text: String, allowQuery: Bool = false) throws(ParseError) -> BackendURL {
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7f }) else { throw .characters }
        let lower = text.lowercased()
        let scheme: String
        if lower.hasPrefix("http://") {
            scheme = "http"
        } else if lower.hasPrefix("https://") {
            scheme = "https"
        } else {
            throw .scheme
        }
        var rest = Substring(text.dropFirst(scheme.count + 3))
        if rest.contains("#") { throw .fragment }
        var query: String?
        if let mark = rest.firstIndex(of: "?") {
            guard allowQuery else { throw .query }
            query = String(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        while path.hasSuffix("/") { path.removeLast() }
        if authority.contains("@") { throw .userinfo }

        let host: String
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .host }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            guard NetworkAddress.isIPv6(host) else { throw .host }
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .host }
                portText = after.dropFirst()
            }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw .host }
            host = String(parts[0]).lowercased()
            guard NetworkAddress.isHostName(host) else { throw .host }
            if parts.count == 2 { portText = parts[1] }
        }
        var port: UInt16 = scheme == "https" ? 443 : 80
        if let portText {
            guard !portText.isEmpty, portText.allSatisfy(\.isASCII), portText.allSatisfy(\.isNumber),
                  let value = UInt16(portText), value > 0 else { throw .port }
            port = value
        }
        return BackendURL(scheme: scheme, host: host, port: port, path: path, query: query)
    }

    public init(scheme: String, host: String, port: UInt16, path: String = "", query: String? = nil) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.query = query
    }

    /// `https://host:443`: the unit the security rules speak of (credentials and redirects
    /// stay within one origin).
    public var origin: String { "\(scheme)://\(hostForURL):\(port)" }

    /// The URL without a default port and without a trailing slash.
    public var description: String {
        let defaultPort: UInt16 = scheme == "https" ? 443 : 80
        let portPart = port == defaultPort ? "" : ":\(port)"
        let queryPart = query.map { "?\($0)" } ?? ""
        return "\(scheme)://\(hostForURL)\(portPart)\(path)\(queryPart)"
    }

    /// The URL of `relativePath` (which starts with `/`) below this base.
    public func appending(path relativePath: String) -> String {
        let defaultPort: UInt16 = scheme == "https" ? 443 : 80
        let portPart = port == defaultPort ? "" : ":\(port)"
        return "\(scheme)://\(hostForURL)\(portPart)\(path)\(relativePath)"
    }

    private var hostForURL: String { host.contains(":") ? "[\(host)]" : host }
}
