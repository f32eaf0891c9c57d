// SPDX-License-Identifier: Apache-2.0
// The HTTP server across all loops: one SO_REUSEPORT listener per loop (so the kernel spreads
// connections and no accept lock is needed), a global connection cap, and graceful drain.
import CLinux
import Glibc
import Synchronization
public import TollgateIO
public import TollgateCore

extension HTTPResponder {
    /// Default: nothing to log for requests refused before they had an exchange.
    public func requestRejected(status: Int, message: String, id: RequestID, peer: IPAddress, loop: EventLoop) {}
}

public final class HTTPServer: Sendable {
    public let options: HTTPServerOptions
    public let group: EventLoopGroup
    private let responderFactory: @Sendable (EventLoop) -> any HTTPResponder
    private let openConnections = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)
    /// Counts loops that finished draining, for whoever waits in `drain(timeout:)`.
    private let drainSignal: Int32
    private let contexts: PerLoop<HTTPServerLoopContext>
    private let boundAddress = Mutex<SocketAddress?>(nil)

    /// - Parameters:
    ///   - group: the loops to serve on (one listener each).
    ///   - responderFactory: called once on each loop's thread to make that loop's responder.
    public init(group: EventLoopGroup, options: HTTPServerOptions,
                responderFactory: @escaping @Sendable (EventLoop) -> any HTTPResponder) throws(IOError) {
        self.group = group
        self.options = options
        self.responderFactory = responderFactory
        self.contexts = PerLoop(group)
        self.drainSignal = try syscallNonBlocking("eventfd") { eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_SEMAPHORE)) }
    }

    deinit {
        closeDescriptor(drainSignal)
    }

    /// Binds one listener per loop and starts accepting. Errors (address in use, bad address)
    /// are thrown here, on the caller's thread, before anything is served.
    /// - Returns: the bound address (with the real port when `options.port` is 0).
    @discardableResult
    public func start() throws(IOError) -> SocketAddress {
        guard var address = SocketAddress(host: options.host, port: options.port) else {
            throw IOError(errno: EINVAL, operation: "listen address")
        }
        if address.port != 0 {
            // SO_REUSEPORT would let a second `tollgate serve` on the same address start
            // silently and take part of the traffic. A probe without it fails with
            // EADDRINUSE while any other socket listens there (SO_REUSEADDR still passes
            // TIME_WAIT leftovers), so only this process's own workers share the port.
            try Socket.checkAddressFree(address)
        }
        var listeners: [Int32] = []
        do {
            for _ in group.loops {
                let fd = try Socket.listen(on: address, reusePort: true)
                if address.port == 0 {
                    // Port 0: the first bind picks the port; the other listeners join it.
                    address = try SocketAddress.local(of: fd)
                }
                listeners.append(fd)
            }
        } catch {
            listeners.forEach(closeDescriptor)
            throw error
        }
        boundAddress.withLock { $0 = address }
        for (index, loop) in group.loops.enumerated() {
            let fd = listeners[index]
            loop.execute { [self] in
                let context = HTTPServerLoopContext(loop: loop, server: self, listenerFD: fd,
                                                    responder: responderFactory(loop))
                contexts.set(context, on: loop)
                do { try context.start() } catch {
                    fatalError("cannot register listener on loop \(loop.index): \(error)")
                }
            }
        }
        return address
    }

    /// Serves an already connected, non-blocking stream socket (a socketpair end, an
    /// inherited descriptor) on the first loop, as if it had been accepted. The server owns
    /// `fd` from here on. Used by the connection fuzzer to drive exact byte splits.
    public func adopt(_ fd: Int32, peer: IPAddress = .unknown) {
        let loop = group.loops[0]
        loop.execute { [self] in
            guard let context = contexts.get(on: loop), !context.isDraining else {
                closeDescriptor(fd)
                return
            }
            context.adopt(fd, peer: peer)
        }
    }

    public var address: SocketAddress? { boundAddress.withLock { $0 } }
    public var isDraining: Bool { draining.load(ordering: .relaxed) }
    public var connectionCount: Int { openConnections.load(ordering: .relaxed) }

    // MARK: - Connection accounting (any loop)

    func reserveConnection() -> Bool {
        let previous = openConnections.add(1, ordering: .relaxed).oldValue
        if previous >= options.maxConnections {
            openConnections.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func releaseConnection() {
        openConnections.subtract(1, ordering: .relaxed)
    }

    // MARK: - Drain

    /// Stops accepting, lets in-flight requests finish for up to `timeout` nanoseconds, then
    /// closes whatever is left. Blocks the calling thread (not a loop thread). While waiting it
    /// also watches `interrupt` (e.g. the process's signalfd): when that fd is readable,
    /// `handler` reads it and returns true to end the drain at once (a second SIGTERM), as if
    /// the deadline had passed.
    /// - Returns: true when every connection finished on its own.
    @discardableResult
    public func drain(timeout: UInt64, interrupt: (fd: Int32, handler: () -> Bool)? = nil) -> Bool {
        guard !draining.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        contexts.forEach { $0.beginDrain() }
        let deadline = tg_monotonic_ns() + timeout
        var drained = 0
        waiting: while drained < group.loops.count {
            let now = tg_monotonic_ns()
            guard now < deadline else { break }
            var descriptors = [pollfd(fd: drainSignal, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: interrupt?.fd ?? -1, events: Int16(POLLIN), revents: 0)]
            let waitMillis = Int32(min((deadline - now) / 1_000_000 + 1, 1000))
            guard poll(&descriptors, 2, waitMillis) > 0 else { continue }
            if descriptors[0].revents != 0 {
                var value: UInt64 = 0
                if Glibc.read(drainSignal, &value, 8) == 8 { drained += 1 }
            }
            if descriptors[1].revents != 0, let interrupt, interrupt.handler() { break waiting }
        }
        let clean = drained == group.loops.count
        if !clean {
            contexts.forEach { $0.closeAll() }
        }
        return clean
    }

    func loopDrained() {
        var one: UInt64 = 1
        _ = Glibc.write(drainSignal, &one, 8)
    }
}
