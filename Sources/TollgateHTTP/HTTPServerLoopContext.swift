// SPDX-License-Identifier: Apache-2.0
// The server's state on one loop: its SO_REUSEPORT listener, its connections, its responder,
// and the per-loop caches (Date header, request ids). Loop-confined.
import CLinux
import Glibc
import TollgateIO
import TollgateCore

final class HTTPServerLoopContext: IOHandler, LoopIterationObserver, TimerHandler {
    let loop: EventLoop
    let options: HTTPServerOptions
    private unowned let server: HTTPServer
    private var listenerFD: Int32
    let responder: any HTTPResponder
    private var connections: [Int32: HTTPConnection] = [:]
    var date = HTTPDate()
    private var ids = RequestIDGenerator()
    private(set) var isDraining = false
    private var reportedDrained = false
    private(set) var wallClockNanos: UInt64 = tg_realtime_ns()
    private var flushQueue: [HTTPConnection] = []
    private var flushing: [HTTPConnection] = []

    init(loop: EventLoop, server: HTTPServer, listenerFD: Int32, responder: any HTTPResponder) {
        self.loop = loop
        self.server = server
        self.options = server.options
        self.listenerFD = listenerFD
        self.responder = responder
        date.update()
    }

    func start() throws(IOError) {
        try loop.register(listenerFD, interest: .read, handler: self)
        loop.addIterationObserver(self)
    }

    var connectionCount: Int { connections.count }

    func nextRequestID() -> RequestID { ids.next() }

    /// Once per loop iteration: refresh the clocks the response writer uses.
    func loopIterationEnded() {
        if !flushQueue.isEmpty {
            // Swapped with a spare array, so neither is copied: a flush may queue again.
            swap(&flushQueue, &flushing)
            for connection in flushing { connection.deferredFlush() }
            flushing.removeAll(keepingCapacity: true)
        }
        wallClockNanos = tg_realtime_ns()
        date.update()
    }

    func scheduleFlush(_ connection: HTTPConnection) {
        flushQueue.append(connection)
    }

    // MARK: - Accepting

    func handleIO(_ events: IOEvents) {
        guard listenerFD >= 0 else { return }
        // Bounded per wake-up so one loop does not starve its existing connections.
        for _ in 0..<64 {
            let result: IOResult<Int32>
            var peer = IPAddress.unknown
            do { result = try Socket.accept(listenerFD, peer: &peer) } catch {
                // EMFILE/ENFILE: out of descriptors. The listener stays readable, so with
                // level-triggered epoll we would spin; stop accepting for a moment instead (nginx
                // does the same) and keep serving the connections we have. ECONNABORTED and
                // the like: the client gave up; try the next one.
                if error.errno == EMFILE || error.errno == ENFILE || error.errno == ENOBUFS || error.errno == ENOMEM {
                    pauseAccepting()
                    return
                }
                continue
            }
            guard case .processed(let fd) = result else { return }
            adopt(fd, peer: peer)
        }
    }

    /// Serves a connected, non-blocking stream socket (accepted here, or handed over through
    /// `HTTPServer.adopt`).
    func adopt(_ fd: Int32, peer: IPAddress) {
        guard server.reserveConnection() else {
            rejectOverLimit(fd, peer: peer)
            return
        }
        Socket.setNoDelay(fd)
        let connection = HTTPConnection(fd: fd, peer: peer, context: self)
        do { try loop.register(fd, interest: .read, handler: connection) } catch {
            closeDescriptor(fd)
            server.releaseConnection()
            return
        }
        connections[fd] = connection
        connection.start()
    }

    private func pauseAccepting() {
        guard listenerFD >= 0 else { return }
        try? loop.setInterest(listenerFD, [])
        loop.schedule(self, at: loop.now + 100_000_000)
    }

    /// The accept pause is over: listen again (unless draining closed the listener meanwhile).
    func timerFired(deadline: UInt64, now: UInt64) {
        guard listenerFD >= 0 else { return }
        try? loop.setInterest(listenerFD, .read)
    }

    /// Beyond `max_connections`: a short 503 and close; the server itself stays up.
    private func rejectOverLimit(_ fd: Int32, peer: IPAddress) {
        let body = JSONText.errorBody(message: "Too many connections; retry shortly.", type: "server_error",
                                      code: "max_connections")
        let id = nextRequestID()
        // Written once, best effort, before the close; no date field (optional on a 5xx
        // answer, RFC 9110 §6.6.1).
        var answer = ByteBuffer()
        HTTPResponseEncoder.writeErrorAnswer(status: 503, body: body, requestID: id, date: nil,
                                             headers: HTTPHeaders([("retry-after", "1")]), into: &answer)
        let bytes = answer.readable
        _ = try? Socket.write(fd, from: bytes.baseAddress!, count: bytes.count)
        Socket.shutdownWrite(fd)
        closeDescriptor(fd)
        rejected(status: 503, message: "max_connections reached", id: id, peer: peer)
    }

    /// A request refused before it had an exchange (malformed, timed out, over the limit),
    /// logged under `id`, the id its answer carries in `x-request-id`.
    func rejected(status: Int, message: String, id: RequestID, peer: IPAddress) {
        responder.requestRejected(status: status, message: message, id: id, peer: peer, loop: loop)
    }

    func connectionClosed(_ connection: HTTPConnection) {
        connections.removeValue(forKey: connection.fd)
        server.releaseConnection()
        reportIfDrained()
    }

    // MARK: - Draining

    /// Stops accepting and lets connections finish their current request.
    func beginDrain() {
        guard !isDraining else { return }
        isDraining = true
        if listenerFD >= 0 {
            loop.deregister(listenerFD)
            closeDescriptor(listenerFD)
            listenerFD = -1
        }
        for connection in Array(connections.values) { connection.drain() }
        reportIfDrained()
    }

    /// After the drain deadline: every connection closes now.
    func closeAll() {
        beginDrain()
        for connection in Array(connections.values) { connection.close() }
        reportIfDrained()
    }

    private func reportIfDrained() {
        guard isDraining, connections.isEmpty, !reportedDrained else { return }
        reportedDrained = true
        server.loopDrained()
    }
}
