// SPDX-License-Identifier: Apache-2.0
// IPv4/IPv6 socket addresses parsed from text ("127.0.0.1", "::1") without DNS: listen
// addresses are literal IPs; names would make start-up depend on a resolver.
import CLinux
import Glibc

/// A numeric IPv4 or IPv6 address with a port.
public struct SocketAddress: Sendable, CustomStringConvertible {
    private enum Storage: Sendable {
        case v4(sockaddr_in)
        case v6(sockaddr_in6)
    }

    private let storage: Storage

    /// Parses a literal IP (`0.0.0.0`, `127.0.0.1`, `::`, `::1`); `localhost` maps to 127.0.0.1.
    public init?(host: String, port: UInt16) {
        let literal = host == "localhost" ? "127.0.0.1" : host
        var v4 = sockaddr_in()
        v4.sin_family = sa_family_t(AF_INET)
        v4.sin_port = port.bigEndian
        if inet_pton(AF_INET, literal, &v4.sin_addr) == 1 {
            storage = .v4(v4)
            return
        }
        var v6 = sockaddr_in6()
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = port.bigEndian
        if inet_pton(AF_INET6, literal, &v6.sin6_addr) == 1 {
            storage = .v6(v6)
            return
        }
        return nil
    }

    /// Reads the address a socket is bound to (getsockname), e.g. to learn the port the
    /// kernel chose for port 0.
    public static func local(of fd: Int32) throws(IOError) -> SocketAddress {
        var raw = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &raw) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { throw IOError(errno: tg_errno(), operation: "getsockname") }
        var copy = raw
        if Int32(raw.ss_family) == AF_INET6 {
            return SocketAddress(storage: .v6(withUnsafeBytes(of: &copy) { $0.load(as: sockaddr_in6.self) }))
        }
        return SocketAddress(storage: .v4(withUnsafeBytes(of: &copy) { $0.load(as: sockaddr_in.self) }))
    }

    private init(storage: Storage) {
        self.storage = storage
    }

    public var port: UInt16 {
        switch storage {
        case .v4(let a): return UInt16(bigEndian: a.sin_port)
        case .v6(let a): return UInt16(bigEndian: a.sin6_port)
        }
    }

    public var family: Int32 {
        switch storage {
        case .v4: return AF_INET
        case .v6: return AF_INET6
        }
    }

    /// The address without the port, as text.
    public var host: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch storage {
        case .v4(var a): inet_ntop(AF_INET, &a.sin_addr, &buffer, socklen_t(buffer.count))
        case .v6(var a): inet_ntop(AF_INET6, &a.sin6_addr, &buffer, socklen_t(buffer.count))
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String {
        switch storage {
        case .v4: return "\(host):\(port)"
        case .v6: return "[\(host)]:\(port)"
        }
    }

    /// A copy with another port.
    public func with(port: UInt16) -> SocketAddress {
        switch storage {
        case .v4(var a): a.sin_port = port.bigEndian; return SocketAddress(storage: .v4(a))
        case .v6(var a): a.sin6_port = port.bigEndian; return SocketAddress(storage: .v6(a))
        }
    }

    /// Calls `body` with the address as a `sockaddr` pointer and its length.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(IOError) -> R) throws(IOError) -> R {
        switch storage {
        case .v4(var a):
            return try withUnsafePointer(to: &a) { (p) throws(IOError) in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (s) throws(IOError) in
                    try body(s, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(var a):
            return try withUnsafePointer(to: &a) { (p) throws(IOError) in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (s) throws(IOError) in
                    try body(s, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }
}
