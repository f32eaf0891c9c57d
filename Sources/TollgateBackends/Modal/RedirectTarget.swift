// SPDX-License-Identifier: Apache-2.0
// Where a 303 from a Modal web endpoint points, and whether the gateway may go there. Modal
// answers a call that outlives its 150 s HTTP limit with 303 See Other to the endpoint's own URL
// plus `?__modal_function_call_id=fc-…`, and the Location may be relative
// (modal.com/docs/guide/webhook-timeouts; backend-protocols.md §3): a query-only reference keeps
// the path, which OriginPolicy's path join does not do. This resolves the reference; whether
// the gateway may go there is OriginPolicy's decision (the backend's own origin only, SPEC §7).
// Pure, no I/O.

/// An absolute http(s) URL split into the parts RFC 3986 §5.2 resolution needs.
struct RedirectTarget: Equatable, Sendable {
    /// Lowercased `http` or `https`.
    var scheme: String
    /// Lowercased host (a bracketed IPv6 literal keeps its brackets).
    var host: String
    var port: Int
    /// The path, "/" when empty.
    var path: String
    /// The query with its "?", or "".
    var query: String

    var url: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return "\(scheme)://\(host)\(port == defaultPort ? "" : ":\(port)")\(path)\(query)"
    }

    /// Parses an absolute http(s) URL; nil for anything else (other schemes, userinfo, bad
    /// ports, control bytes or spaces). The fragment is dropped (never sent, RFC 9110 §4.2.4).
    init?(absolute text: String) {
        guard Self.isClean(text), let colon = text.firstIndex(of: ":") else { return nil }
        let scheme = text[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = text[text.index(after: colon)...]
        guard rest.hasPrefix("//") else { return nil }
        let afterSlashes = rest.dropFirst(2)
        let authorityEnd = afterSlashes.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? afterSlashes.endIndex
        let authority = afterSlashes[..<authorityEnd]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host = Substring(authority)
        var port = scheme == "https" ? 443 : 80
        if let portColon = authority.lastIndex(of: ":"), !authority[portColon...].contains("]") {
            let digits = authority[authority.index(after: portColon)...]
            host = authority[..<portColon]
            if !digits.isEmpty {
                guard digits.count <= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int(digits), p > 0, p < 65536 else {
                    return nil
                }
                port = p
            }
        }
        guard !host.isEmpty else { return nil }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
        (path, query) = Self.pathAndQuery(afterSlashes[authorityEnd...])
    }

    /// `reference` (a Location value) resolved against this URL (RFC 3986 §5.2.2, for the forms
    /// a server sends: absolute, network-path `//host/p`, absolute-path `/p`, query-only `?q`
    /// and relative-path `p`); nil when it is not a usable http(s) URL.
    func resolving(_ reference: String) -> RedirectTarget? {
        guard Self.isClean(reference) else { return nil }
        if reference.hasPrefix("//") { return RedirectTarget(absolute: scheme + ":" + reference) }
        if let colon = reference.firstIndex(of: ":"),
           !reference[..<colon].contains(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
            return RedirectTarget(absolute: reference)
        }
        var target = self
        let (refPath, refQuery) = Self.pathAndQuery(Substring(reference))
        if reference.isEmpty || reference.hasPrefix("#") {
            return target
        } else if reference.hasPrefix("?") {
            target.query = refQuery
        } else if reference.hasPrefix("/") {
            target.path = Self.removingDotSegments(refPath)
            target.query = refQuery
        } else {
            // Merge (§5.2.3): the base path up to its last "/", then the reference.
            let directory = path.lastIndex(of: "/").map { String(path[...$0]) } ?? "/"
            target.path = Self.removingDotSegments(directory + refPath)
            target.query = refQuery
        }
        return target
    }

    private static func pathAndQuery(_ text: Substring) -> (String, String) {
        let withoutFragment = text.firstIndex(of: "#").map { text[..<$0] } ?? text
        let queryStart = withoutFragment.firstIndex(of: "?") ?? withoutFragment.endIndex
        let path = String(withoutFragment[..<queryStart])
        return (path.isEmpty ? "/" : path, String(withoutFragment[queryStart...]))
    }

    /// RFC 3986 §5.2.4, on "/"-separated segments.
    private static func removingDotSegments(_ path: String) -> String {
        var output: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (i, segment) in segments.enumerated() {
            let last = i == segments.count - 1
            if segment == "." {
                if last { output.append("") }
            } else if segment == ".." {
                if !output.isEmpty { output.removeLast() }
                if last { output.append("") }
            } else {
                output.append(segment)
            }
        }
        return "/" + output.joined(separator: "/")
    }

    /// Visible ASCII only: a Location with spaces, controls or raw non-ASCII bytes is refused
    /// rather than guessed at (and could never smuggle a header into the next request).
    private static func isClean(_ text: String) -> Bool {
        text.utf8.count <= 8192 && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
