// SPDX-License-Identifier: Apache-2.0
// Where an adapter may send a request of its own (a poll, a result or file fetch): only to its
// backend's origins (RFC 6454 §4: scheme, host, port) and, for some kinds, to a platform's fixed
// HTTPS domains (Replicate's `replicate.delivery` and its subdomains). A URL found in a
// platform's answer is checked here before it is fetched; a client's URL is data, never fetched.
//
// The parser is deliberately narrower than RFC 3986 so that it can never read a URL differently
// from libcurl: http and https only; ASCII only with no space, control byte or backslash
// anywhere (WHATWG reads "\" as "/" in special schemes); no userinfo at all (the
// `https://allowed.example@evil.example/` trick); no percent-encoding in the host; a port of
// digits only. The host is compared case-insensitively (RFC 3986 §3.2.2), default ports are
// normalised (80 for http, 443 for https; RFC 6454 §4 step 5).

public struct OriginPolicy: Sendable {
    /// An RFC 6454 origin: lowercase scheme and host, explicit port.
    public struct Origin: Hashable, Sendable, CustomStringConvertible {
        public var scheme: String
        public var host: String
        public var port: Int

        public init(scheme: String, host: String, port: Int) {
            self.scheme = scheme
            self.host = host
            self.port = port
        }

        public var description: String { "\(scheme)://\(host):\(port)" }
    }

    public var origins: [Origin]
    /// HTTPS domains allowed with their subdomains, on port 443 (lowercase, no leading dot).
    public var httpsDomains: [String]

    /// `urls` that do not parse are left out.
    public init(urls: [String], httpsDomains: [String] = []) {
        origins = urls.compactMap(Self.origin(of:))
        self.httpsDomains = httpsDomains.map { $0.lowercased() }
    }

    /// Whether `url` may be fetched under this policy.
    public func allows(_ url: String) -> Bool {
        guard let origin = Self.origin(of: url) else { return false }
        if origins.contains(origin) { return true }
        guard origin.scheme == "https", origin.port == 443 else { return false }
        return httpsDomains.contains { origin.host == $0 || origin.host.hasSuffix("." + $0) }
    }

    /// Whether `url`'s origin is one of `origins`.
    public static func allows(_ url: String, origins: [Origin]) -> Bool {
        guard let origin = origin(of: url) else { return false }
        return origins.contains(origin)
    }

    /// Whether both URLs parse and have the same origin.
    public static func isSameOrigin(_ a: String, _ b: String) -> Bool {
        guard let x = origin(of: a), let y = origin(of: b) else { return false }
        return x == y
    }

    /// `base` (trailing slashes dropped) + "/" + `path` (leading slashes dropped); `path` may
    /// carry a query. Joined as text, never resolved (no "..", no scheme-relative tricks).
    public static func join(base: String, path: String) -> String {
        var base = Substring(base)
        while base.hasSuffix("/") { base.removeLast() }
        var path = Substring(path)
        while path.hasPrefix("/") { path.removeFirst() }
        return path.isEmpty ? String(base) : base + "/" + path
    }

    /// A reference from a platform's answer: absolute (`http://`, `https://`) as is, anything
    /// else joined to `base` as a path. nil when the result is not allowed by `self`.
    public func resolve(_ reference: String, base: String) -> String? {
        let lower = reference.lowercased()
        let url: String
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            url = reference
        } else if reference.hasPrefix("//") || Self.hasScheme(reference) {
            return nil  // scheme-relative, or another scheme (file:, data:, javascript:)
        } else {
            url = Self.join(base: base, path: reference)
        }
        return allows(url) ? url : nil
    }

    /// The origin of an http(s) URL, or nil when the URL is outside what this policy accepts.
    public static func origin(of url: String) -> Origin? {
        let bytes = Array(url.utf8)
        for b in bytes where b <= 0x20 || b >= 0x7F || b == UInt8(ascii: "\\") { return nil }
        guard let sep = find(Array("://".utf8), in: bytes) else { return nil }
        let scheme = String(decoding: bytes[0..<sep], as: UTF8.self).lowercased()
        let defaultPort: Int
        switch scheme {
        case "http": defaultPort = 80
        case "https": defaultPort = 443
        default: return nil
        }
        let authorityStart = sep + 3
        var authorityEnd = authorityStart
        while authorityEnd < bytes.count, !"/?#".utf8.contains(bytes[authorityEnd]) { authorityEnd += 1 }
        let authority = bytes[authorityStart..<authorityEnd]
        // No userinfo, ever: nothing of ours needs it and it is the classic origin confusion.
        guard !authority.isEmpty, !authority.contains(UInt8(ascii: "@")), !authority.contains(UInt8(ascii: "%")) else { return nil }
        var host: ArraySlice<UInt8>
        var portText: ArraySlice<UInt8>?
        if authority.first == UInt8(ascii: "[") {
            // An IP literal (RFC 3986 §3.2.2): hex digits, colons and dots inside the brackets.
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            host = authority[authority.startIndex...close]
            let inside = authority[(authority.startIndex + 1)..<close]
            guard !inside.isEmpty, inside.allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else { return nil }
            let rest = authority[(close + 1)...]
            if !rest.isEmpty {
                guard rest.first == UInt8(ascii: ":") else { return nil }
                portText = rest.dropFirst()
            }
        } else {
            if let colon = authority.firstIndex(of: UInt8(ascii: ":")) {
                host = authority[authority.startIndex..<colon]
                portText = authority[(colon + 1)...]
            } else {
                host = authority
            }
            guard !host.isEmpty, host.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
            else { return nil }
        }
        var port = defaultPort
        if let portText, !portText.isEmpty {
            guard portText.count <= 5, portText.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            port = portText.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard port >= 1 && port <= 65535 else { return nil }
        }
        host = ArraySlice(host.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 })
        return Origin(scheme: scheme, host: String(decoding: host, as: UTF8.self), port: port)
    }

    private static func hasScheme(_ text: String) -> Bool {
        // RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
        guard let colon = text.utf8.firstIndex(of: UInt8(ascii: ":")) else { return false }
        let scheme = text.utf8[..<colon]
        guard let first = scheme.first, isAlpha(first) else { return false }
        return scheme.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        for i in 0...(bytes.count - needle.count) where bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
        return nil
    }

    private static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
    private static func isAlphanumeric(_ b: UInt8) -> Bool { isAlpha(b) || (b >= 0x30 && b <= 0x39) }
    private static func isHexDigit(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x66) }
}
