// SPDX-License-Identifier: Apache-2.0
// Address syntax checks: listen addresses, trusted-proxy CIDRs and URL hosts. inet_pton is
// the same parser the socket layer uses, so "valid here" means "bindable there".
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum NetworkAddress {
    enum ListenProblem: Error, Equatable {
        case shape
        case host(String)
        case port(String)
    }

    static func isIPv4(_ text: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1
    }

    static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }

    /// A DNS name (`api.runpod.ai`, `gpu-box`, `my_host`) or an IPv4 literal. Labels of
    /// letters, digits, `-` and `_`, separated by single dots, 253 characters at most.
    static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.utf8.allSatisfy { c in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
            }
        }
    }

    /// `host:port` or `[v6]:port`; the host is an IP literal or `localhost` (the socket layer
    /// does not resolve names, so start-up never waits on DNS); port 0…65535 (0: any free port).
    static func parseListen(_ text: String) -> Result<(host: String, port: UInt16), ListenProblem> {
        let host: String
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(.shape) }
            host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else { return .failure(.shape) }
            portText = after.dropFirst()
            guard isIPv6(host) else { return .failure(.host(host)) }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return .failure(.shape) }
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            // An unbracketed IPv6 address is ambiguous: is "::1:8080" port 8080 of ::1?
            guard !host.contains(":") else { return .failure(.shape) }
            guard host == "localhost" || isIPv4(host) else { return .failure(.host(host)) }
        }
        guard !portText.isEmpty, portText.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              let port = UInt16(portText) else {
            return .failure(.port(String(portText)))
        }
        return .success((host, port))
    }

    /// An IP (`10.0.0.5`, `::1`) or a CIDR block (`10.0.0.0/8`, `fd00::/8`).
    static func isAddressOrCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return false }
        let address = String(parts[0])
        let maximumPrefix: Int
        if isIPv4(address) {
            maximumPrefix = 32
        } else if isIPv6(address) {
            maximumPrefix = 128
        } else {
            return false
        }
        guard parts.count == 2 else { return true }
        let prefix = parts[1]
        guard !prefix.isEmpty, prefix.utf8.count <= 3,
              prefix.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              let bits = Int(prefix) else { return false }
        return bits <= maximumPrefix
    }
}
