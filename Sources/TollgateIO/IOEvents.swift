// SPDX-License-Identifier: Apache-2.0
// Readiness, in words rather than EPOLL* bits, so only EventLoop.swift speaks epoll.
import CLinux

/// What a registration is interested in, or what the kernel reported.
public struct IOEvents: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let read = IOEvents(rawValue: 1 << 0)
    public static let write = IOEvents(rawValue: 1 << 1)
    /// The peer shut down its write side (EPOLLRDHUP); data may still be buffered.
    public static let readEOF = IOEvents(rawValue: 1 << 2)
    /// Hang-up or error: the socket is unusable (EPOLLHUP | EPOLLERR).
    public static let error = IOEvents(rawValue: 1 << 3)

    /// The epoll bits for an interest set. EPOLLERR and EPOLLHUP are always reported by the
    /// kernel; asking for them too keeps the intent visible (swift-nio does the same).
    var epollMask: UInt32 {
        var mask = UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)
        if contains(.read) { mask |= UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue) }
        // Hang-up only: told when the peer closes, without being woken for data we do not
        // want to read yet (a request body on hold, a pipelined request behind a response).
        if contains(.readEOF) { mask |= UInt32(EPOLLRDHUP.rawValue) }
        if contains(.write) { mask |= UInt32(EPOLLOUT.rawValue) }
        return mask
    }

    init(epollBits bits: UInt32) {
        var events: IOEvents = []
        if bits & UInt32(EPOLLIN.rawValue) != 0 { events.insert(.read) }
        if bits & UInt32(EPOLLOUT.rawValue) != 0 { events.insert(.write) }
        if bits & UInt32(EPOLLRDHUP.rawValue) != 0 { events.insert(.readEOF) }
        if bits & (UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)) != 0 { events.insert(.error) }
        self = events
    }
}
