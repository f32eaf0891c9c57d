// SPDX-License-Identifier: Apache-2.0
// Thin, non-blocking socket calls over the syscall funnel. Descriptors are plain Int32s owned
// by exactly one object above (a listener or a connection), which closes them once.
import CLinux
import Glibc

public enum Socket {
    /// A non-blocking listening socket with SO_REUSEADDR and, when `reusePort`, SO_REUSEPORT so
    /// every loop can have its own listener on the same port and the kernel spreads accepts.
    public static func listen(on address: SocketAddress, backlog: Int32 = 4096, reusePort: Bool) throws(IOError) -> Int32 {
        let fd = try bound(to: address, reusePort: reusePort)
        do throws(IOError) {
            try syscallNonBlocking("listen") { Glibc.listen(fd, backlog) }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        return fd
    }

    /// Binds (without listening) and closes a socket with SO_REUSEADDR but not SO_REUSEPORT:
    /// throws EADDRINUSE when another socket already listens on `address`, whatever its
    /// options, without ever accepting a connection itself.
    public static func checkAddressFree(_ address: SocketAddress) throws(IOError) {
        closeDescriptor(try bound(to: address, reusePort: false))
    }

    /// A non-blocking TCP socket with SO_REUSEADDR (and SO_REUSEPORT when asked) bound to
    /// `address`; closed again if any step fails.
    private static func bound(to address: SocketAddress, reusePort: Bool) throws(IOError) -> Int32 {
        let fd = try syscallNonBlocking("socket") {
            Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do throws(IOError) {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if reusePort { try setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
            _ = try address.withSockAddr { (sa, len) throws(IOError) in
                try syscallNonBlocking("bind") { Glibc.bind(fd, sa, len) }
            }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        return fd
    }

    /// Accepts one pending connection as a non-blocking, close-on-exec socket.
    @inline(__always)
    public static func accept(_ listener: Int32, peer: inout IPAddress) throws(IOError) -> IOResult<Int32> {
        var storage = sockaddr_storage()
        let result = try syscall("accept4") {
            tg_accept4(listener, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), &storage)
        }
        if case .processed = result { peer = IPAddress(storage) ?? .unknown }
        return result
    }

    /// Reads into `buffer`; `.processed(0)` means the peer closed its side.
    @inline(__always)
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) throws(IOError) -> IOResult<Int> {
        try syscall("read") { Glibc.read(fd, buffer, count) }
    }

    /// Writes from `buffer`; may write fewer bytes than asked.
    @inline(__always)
    public static func write(_ fd: Int32, from buffer: UnsafeRawPointer, count: Int) throws(IOError) -> IOResult<Int> {
        try syscall("send") { Glibc.send(fd, buffer, count, Int32(MSG_NOSIGNAL)) }
    }

    /// Half-closes the write side so the peer sees EOF after our last bytes (lingering close).
    public static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    public static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(IOError) {
        var v = value
        try syscallNonBlocking("setsockopt") {
            setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Disables Nagle: responses are written whole, so delaying small segments only adds latency.
    public static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}
