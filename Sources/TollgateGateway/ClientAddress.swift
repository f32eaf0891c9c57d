// SPDX-License-Identifier: Apache-2.0
// Who the client is, for the access log and the usage record: the connection's peer, or —
// when that peer is one of `server.trusted_proxies` — the address its X-Forwarded-For names.
// Walked from the right, skipping trusted hops, as nginx's real_ip_recursive does: entries
// left of the first untrusted one could have been written by the client itself.
import TollgateIO

enum ClientAddress {
    static func resolve(peer: IPAddress, forwardedFor: String?, trusted: [IPBlock]) -> IPAddress {
        guard !trusted.isEmpty, let forwardedFor, isTrusted(peer, trusted) else { return peer }
        var client = peer
        for entry in forwardedFor.split(separator: ",").reversed() {
            guard let address = IPAddress(text: entry.trimmingWhitespace()) else { break }
            client = address
            if !isTrusted(address, trusted) { break }
        }
        return client
    }

    private static func isTrusted(_ address: IPAddress, _ trusted: [IPBlock]) -> Bool {
        trusted.contains { $0.contains(address) }
    }
}

private extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
