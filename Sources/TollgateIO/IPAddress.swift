// SPDX-License-Identifier: Apache-2.0
// A client's IP address without its port, kept as 16 bytes (IPv4 as an IPv4-mapped IPv6
// address, RFC 4291 §2.5.5.2), so one comparison serves both families and a v4 client seen
// through a dual-stack listener matches a v4 block. Taken from accept(2), written to the log.
import CLinux
import Glibc

public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// Network order; IPv4 as ::ffff:a.b.c.d.
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The unspecified address (a connection whose peer is unknown).
    public static let unknown = IPAddress(high: 0, low: 0)

    /// From a socket address filled by accept(2)/getpeername(2); nil for other families.
    init?(_ storage: sockaddr_storage) {
        var copy = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let v4 = withUnsafeBytes(of: &copy) { $0.load(as: sockaddr_in.self) }
            self = Self.mapped(v4: UInt32(bigEndian: v4.sin_addr.s_addr))
        case AF_INET6:
            self.init(withUnsafeBytes(of: &copy) { $0.load(as: sockaddr_in6.self) }.sin6_addr)
        default:
            return nil
        }
    }

    /// Parses `10.0.0.5` or `::1` (no port, no brackets, no zone).
    public init?(text: some StringProtocol) {
        var v4 = in_addr()
        var v6 = in6_addr()
        let string = String(text)
        if inet_pton(AF_INET, string, &v4) == 1 {
            self = Self.mapped(v4: UInt32(bigEndian: v4.s_addr))
        } else if inet_pton(AF_INET6, string, &v6) == 1 {
            self.init(v6)
        } else {
            return nil
        }
    }

    /// From the 16 bytes of an IPv6 address (network order).
    private init(_ v6: in6_addr) {
        var bytes = v6
        (high, low) = withUnsafeBytes(of: &bytes) { raw in
            (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
             UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }

    private static func mapped(v4: UInt32) -> IPAddress {
        IPAddress(high: 0, low: 0x0000_FFFF_0000_0000 | UInt64(v4))
    }

    public var isIPv4: Bool { high == 0 && low >> 32 == 0xFFFF }

    /// The first `bits` bits (of the 128) are equal.
    public func sharesPrefix(with other: IPAddress, bits: Int) -> Bool {
        if bits <= 0 { return true }
        if bits >= 128 { return self == other }
        if bits <= 64 {
            let mask: UInt64 = bits == 64 ? .max : ~(UInt64.max >> UInt64(bits))
            return high & mask == other.high & mask
        }
        let mask: UInt64 = ~(UInt64.max >> UInt64(bits - 64))
        return high == other.high && low & mask == other.low & mask
    }

    /// `10.0.0.5` or `2001:db8::1` (inet_ntop's form). An IPv4 address is formatted here
    /// (at most 15 bytes: a small String, no allocation, no libc call); IPv6 by inet_ntop on
    /// the stack.
    public var description: String {
        if isIPv4 {
            let v4 = UInt32(truncatingIfNeeded: low)
            return String(unsafeUninitializedCapacity: 15) { out in
                var n = 0
                for shift in stride(from: 24, through: 0, by: -8) {
                    let octet = Int((v4 >> UInt32(shift)) & 0xFF)
                    if octet >= 100 { out[n] = UInt8(0x30 + octet / 100); n += 1 }
                    if octet >= 10 { out[n] = UInt8(0x30 + octet / 10 % 10); n += 1 }
                    out[n] = UInt8(0x30 + octet % 10)
                    n += 1
                    if shift > 0 { out[n] = UInt8(ascii: "."); n += 1 }
                }
                return n
            }
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { buffer in
            buffer.initialize(repeating: 0)
            var v6 = in6_addr()
            withUnsafeMutableBytes(of: &v6) { raw in
                raw.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            inet_ntop(AF_INET6, &v6, buffer.baseAddress, socklen_t(buffer.count))
            return String(cString: buffer.baseAddress!)
        }
    }
}
