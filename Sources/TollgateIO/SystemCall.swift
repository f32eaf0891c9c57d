// SPDX-License-Identifier: Apache-2.0
// The one funnel every syscall goes through (after swift-nio's System.swift): EINTR is retried,
// EAGAIN/EWOULDBLOCK become a value instead of an error, and errnos that can only mean a bug in
// this process (EBADF, EFAULT) stop it at once rather than being reported as I/O failures.
import CLinux
import Glibc

/// The outcome of a non-blocking syscall that did not fail.
public enum IOResult<T> {
    /// The kernel would have blocked; nothing happened. Wait for readiness.
    case wouldBlock
    /// The call completed with this value.
    case processed(T)
}

/// A failed syscall: which call, and the errno captured right after its `-1` return.
public struct IOError: Error, CustomStringConvertible, Sendable {
    public let errno: Int32
    public let operation: StaticString

    public init(errno: Int32, operation: StaticString) {
        self.errno = errno
        self.operation = operation
    }

    public var description: String {
        "\(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }

    /// The peer went away (reset or broken pipe): a normal end for a connection, not a fault.
    public var isDisconnect: Bool {
        errno == ECONNRESET || errno == EPIPE || errno == ENOTCONN || errno == ETIMEDOUT
    }
}

/// Runs `body`, retrying on EINTR. A `-1` return with EAGAIN is `.wouldBlock`; any other
/// failure throws `IOError` naming `operation`.
/// - Parameters:
///   - operation: the call's name for the error message.
///   - body: the raw syscall; must return -1 and set errno on failure.
@inline(__always)
public func syscall<T: FixedWidthInteger>(_ operation: StaticString, _ body: () -> T) throws(IOError) -> IOResult<T> {
    while true {
        let result = body()
        if result >= 0 { return .processed(result) }
        let code = tg_errno()
        switch code {
        case EINTR:
            continue
        case EAGAIN, EWOULDBLOCK:
            return .wouldBlock
        case EBADF, EFAULT:
            // Both mean this process used a closed descriptor or a wild pointer: a bug, never a
            // runtime condition, and continuing could act on someone else's descriptor.
            preconditionFailure("\(operation): unacceptable errno \(code)")
        default:
            throw IOError(errno: code, operation: operation)
        }
    }
}

/// Like `syscall` for calls that never legitimately block (socket setup, epoll_ctl, ...).
@inline(__always)
@discardableResult
public func syscallNonBlocking<T: FixedWidthInteger>(_ operation: StaticString, _ body: () -> T) throws(IOError) -> T {
    switch try syscall(operation, body) {
    case .processed(let value): return value
    case .wouldBlock: throw IOError(errno: EAGAIN, operation: operation)
    }
}

/// Closes a descriptor. close(2) must not be retried on EINTR on Linux (the descriptor is
/// already released), and on sockets it cannot fail with EIO; EBADF would be our bug.
public func closeDescriptor(_ fd: Int32) {
    let rc = Glibc.close(fd)
    if rc != 0 {
        let code = tg_errno()
        precondition(code != EBADF, "close: EBADF on fd \(fd)")
    }
}
