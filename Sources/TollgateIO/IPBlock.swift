// SPDX-License-Identifier: Apache-2.0
// An address block (`10.0.0.0/8`, `fd00::/8`, or one address): `server.trusted_proxies`.

public struct IPBlock: Sendable, Hashable {
    public let base: IPAddress
    /// Prefix length over the 128-bit form (an IPv4 /8 is /104 here).
    public let bits: Int

    /// Parses `ADDRESS` or `ADDRESS/PREFIX` (IPv4 prefixes 0…32, IPv6 0…128).
    public init?(text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let base = IPAddress(text: parts[0]) else { return nil }
        let maximum = base.isIPv4 ? 32 : 128
        var prefix = maximum
        if parts.count == 2 {
            guard parts[1].utf8.count <= 3, parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let value = Int(parts[1]), value <= maximum else { return nil }
            prefix = value
        }
        self.base = base
        self.bits = base.isIPv4 ? 96 + prefix : prefix
    }

    public func contains(_ address: IPAddress) -> Bool {
        address.sharesPrefix(with: base, bits: bits)
    }
}
