// SPDX-License-Identifier: Apache-2.0
// The response headers an adapter wants from its upstream (SPEC §3's allowlist is the
// adapter's to apply, not the transport's): every other header is skipped by the transfer
// without ever becoming a String. Built once per adapter.

public struct UpstreamHeaderAllowlist: Sendable {
    /// Lowercase names with their bytes, for a case-insensitive match against the raw line.
    let entries: [(name: String, bytes: [UInt8])]

    /// - Parameter names: header names; matched case-insensitively.
    public init(_ names: [String]) {
        entries = names.map { ($0.lowercased(), Array($0.lowercased().utf8)) }
    }

    public static let none = UpstreamHeaderAllowlist([])

    /// The lowercase name when `raw` (a header name as received) is on the list.
    func match(_ raw: UnsafeRawBufferPointer) -> String? {
        for entry in entries where entry.bytes.count == raw.count {
            var equal = true
            for i in 0..<raw.count {
                let b = raw[i]
                if ((b >= 0x41 && b <= 0x5A) ? b | 0x20 : b) != entry.bytes[i] {
                    equal = false
                    break
                }
            }
            if equal { return entry.name }
        }
        return nil
    }
}
