// SPDX-License-Identifier: Apache-2.0
// One request and its response: what a responder sees. It lives on the connection's loop; all
// calls must come from that loop. After the client goes away every call is a harmless no-op,
// so a responder finishing late (an upstream transfer completing) needs no special case.
public import TollgateIO
public import TollgateCore

/// Receives the request body and the response-side events of one exchange (on its loop).
public protocol HTTPExchangeDelegate: AnyObject {
    /// Body bytes as they arrive; valid only during the call (copy what you keep).
    func exchangeBody(_ exchange: HTTPExchange, _ bytes: UnsafeRawBufferPointer)
    /// The body is complete (trailers, if any, were validated and dropped).
    func exchangeBodyEnded(_ exchange: HTTPExchange)
    /// The response buffer drained below the low-water mark after `write` returned false.
    func exchangeWritable(_ exchange: HTTPExchange)
    /// The client went away, timed out, or sent a malformed body before the response finished.
    func exchangeAborted(_ exchange: HTTPExchange)
}

extension HTTPExchangeDelegate {
    public func exchangeBody(_ exchange: HTTPExchange, _ bytes: UnsafeRawBufferPointer) {}
    public func exchangeBodyEnded(_ exchange: HTTPExchange) {}
    public func exchangeWritable(_ exchange: HTTPExchange) {}
    public func exchangeAborted(_ exchange: HTTPExchange) {}
}

/// Answers requests. One responder per loop, created by the server's factory on that loop, so
/// it may keep loop-confined state (an upstream client, a log buffer) without locks.
public protocol HTTPResponder: AnyObject {
    /// A complete, validated head arrived. Respond now or later through `exchange`.
    func respond(to exchange: HTTPExchange)
    /// The exchange is over (response queued in full, or aborted): log and account for it.
    func exchangeEnded(_ exchange: HTTPExchange)
    /// A request refused before it became an exchange (malformed head, header timeout,
    /// connection limit): log it. `id` is the one its answer carried; `peer` the client.
    func requestRejected(status: Int, message: String, id: RequestID, peer: IPAddress, loop: EventLoop)
}

/// A response header list that refuses CR, LF and NUL so nothing can split the response
/// (reliability-anchors §4 item 13).
public struct HTTPHeaders: Sendable {
    public private(set) var entries: [(name: String, value: String)] = []

    public init() {}

    public init(_ entries: [(String, String)]) {
        for (name, value) in entries { add(name, value) }
    }

    public mutating func add(_ name: String, _ value: String) {
        entries.append((Self.sanitize(name), Self.sanitize(value)))
    }

    /// Room for `count` entries in all, so a list built up field by field allocates once.
    public mutating func reserveCapacity(_ count: Int) {
        entries.reserveCapacity(count)
    }

    /// These entries followed by `other`'s.
    public func appending(_ other: HTTPHeaders) -> HTTPHeaders {
        var all = self
        all.entries.append(contentsOf: other.entries)
        return all
    }

    static func sanitize(_ text: String) -> String {
        // Read in place (no mutable copy to make contiguous): a native or small string always
        // has contiguous UTF-8; anything else takes the slow path below.
        let clean = text.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 }
        } ?? !text.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 }
        guard !clean else { return text }
        return String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" || $0 == "\0" ? " " : $0 })
    }
}

public final class HTTPExchange {
    public let head: HTTPRequestHead
    /// The gateway's own unique id for this request (logged; the response echoes the client's
    /// `x-request-id` when it sent a valid one, else this id).
    public let id: RequestID
    public let loop: EventLoop
    /// Monotonic nanoseconds when the head was complete.
    public let startTime: UInt64
    /// Wall-clock nanoseconds since the epoch when the head was complete.
    public let startWallTime: UInt64
    /// The connection's peer address (see `HTTPConnection.peer`).
    public let peer: IPAddress
    /// `peer` as text (`10.0.0.5`, `2001:db8::1`), formatted once per connection.
    public let peerText: String

    /// The responder's per-request state (e.g. its proxy exchange); kept alive with the exchange.
    public var context: AnyObject?
    public var delegate: (any HTTPExchangeDelegate)?
    /// Headers every response of this exchange carries besides its own (the gateway's
    /// `x-ratelimit-*` on a rate-limited route, whoever answers: the gateway or the upstream).
    public var extraHeaders: HTTPHeaders?

    /// The responder's state for the whole connection (e.g. a credential it already verified),
    /// seen by every later request on it and dropped with the connection.
    public var connectionContext: AnyObject? {
        get { connection?.responderContext }
        set { connection?.responderContext = newValue }
    }

    public internal(set) var status = 0
    /// Request body bytes received so far.
    public internal(set) var bodyBytesIn = 0
    /// Response bytes queued (head included).
    public internal(set) var bytesOut = 0
    public internal(set) var isResponseStarted = false
    public internal(set) var isResponseComplete = false
    public internal(set) var isBodyComplete = false
    public internal(set) var isAborted = false
    /// Monotonic nanoseconds when the response head was queued, 0 until then.
    public internal(set) var firstByteTime: UInt64 = 0
    /// Monotonic nanoseconds when the exchange ended, 0 until then.
    public internal(set) var endTime: UInt64 = 0

    /// The connection, while this exchange is attached to it; nil once the exchange has ended
    /// (`HTTPConnection.endExchange`) or the connection is gone (`close`, `deinit`). Not
    /// `weak`: a weak reference gives every connection a side table and makes each of its
    /// retains and releases take the slow path. The lifetime is structural instead: the
    /// connection holds its current exchange strongly and clears this field on every path
    /// that lets go of it, so a non-nil value always points at a live connection, however
    /// long a responder keeps the exchange (an upstream answering after the client left).
    /// Loading it makes a strong copy (a retain), and that copy is what keeps the connection
    /// alive through a call that closes it (`write` → `flushOutput` → `close`, then the caller
    /// reads its phase): never replace the load with an unretained one.
    unowned(unsafe) var connection: HTTPConnection?
    var bodyRequested = false
    var bodyPaused = false
    var writeBlocked = false

    /// The responder asked for the body, has not paused it, and it is not all here yet: the
    /// connection reads it, and the body timeout runs.
    var isReadingBody: Bool { bodyRequested && !bodyPaused && !isBodyComplete }

    init(head: HTTPRequestHead, id: RequestID, loop: EventLoop, connection: HTTPConnection, peer: IPAddress,
         peerText: String, wallTime: UInt64) {
        self.head = head
        self.peer = peer
        self.peerText = peerText
        self.id = id
        self.loop = loop
        self.startTime = loop.now
        self.startWallTime = wallTime
        self.connection = connection
        self.isBodyComplete = head.framing == .none || head.framing == .length(0)
    }

    public var isHEAD: Bool { head.method == .head }
    /// True once the exchange can no longer send anything.
    public var isFinished: Bool { isResponseComplete || isAborted }

    // MARK: - Request body

    /// Starts delivering the body to `delegate` (sending `100 Continue` first when the client
    /// asked for it). Until this is called the body stays unread, so a request answered early
    /// (401, 404, 413) never makes the client upload it (reliability-anchors §4 item 10).
    public func readBody(delegate: any HTTPExchangeDelegate) {
        self.delegate = delegate
        guard !bodyRequested else { return }
        bodyRequested = true
        connection?.bodyRequested(self)
    }

    /// Stops reading the body (backpressure); the client's sends block in its kernel buffer.
    public func pauseBody() {
        bodyPaused = true
        connection?.bodyFlowChanged(self)
    }

    public func resumeBody() {
        guard bodyPaused else { return }
        bodyPaused = false
        connection?.bodyFlowChanged(self)
    }

    // MARK: - Response

    /// Sends a complete response with a fixed body.
    public func respond(status: Int, headers: HTTPHeaders = HTTPHeaders(), contentType: String? = "application/json",
                        body: UnsafeRawBufferPointer) {
        guard !isFinished, !isResponseStarted, let connection else { return }
        self.status = status
        connection.writeHead(self, status: status, headers: headers, contentType: contentType, length: body.count)
        connection.writeBody(self, body)
        connection.finishResponse(self)
    }

    public func respond(status: Int, headers: HTTPHeaders = HTTPHeaders(), contentType: String? = "application/json",
                        body: String) {
        var text = body
        text.withUTF8 { respond(status: status, headers: headers, contentType: contentType, body: UnsafeRawBufferPointer($0)) }
    }

    /// Sends an OpenAI-shaped error. `close` ends the connection after it (used when the
    /// request body was not read, so its bytes cannot be mistaken for a next request).
    public func respondError(status: Int, message: String, code: String?, type: String? = nil,
                             headers: HTTPHeaders = HTTPHeaders(), close: Bool = false) {
        if close { connection?.keepAlive = false }
        let body = JSONText.errorBody(message: message, type: type ?? JSONText.errorType(forStatus: status), code: code)
        respond(status: status, headers: headers, body: body)
    }

    /// Starts a streamed response. `length` nil means chunked (or close-delimited for an
    /// HTTP/1.0 client); SSE is a chunked response with `text/event-stream`.
    public func startResponse(status: Int, headers: HTTPHeaders = HTTPHeaders(), contentType: String?, length: Int? = nil) {
        guard !isFinished, !isResponseStarted, let connection else { return }
        self.status = status
        connection.writeHead(self, status: status, headers: headers, contentType: contentType, length: length)
    }

    /// Queues body bytes. Returns false when the client is slow and the buffer is above its
    /// high-water mark: stop producing until `exchangeWritable` is called.
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !isFinished, isResponseStarted, let connection else { return false }
        return connection.writeBody(self, bytes)
    }

    @discardableResult
    public func write(_ text: String) -> Bool {
        var copy = text
        return copy.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Ends the response (the last chunk for chunked framing).
    public func finish() {
        guard !isFinished, isResponseStarted, let connection else { return }
        connection.finishResponse(self)
    }

    /// Ends the exchange abruptly: the connection is closed (a stream that failed mid-way).
    public func abort() {
        guard !isFinished else { return }
        connection?.abortConnection()
    }

    /// Response bytes this exchange's connection holds in memory right now (tests prove the
    /// backpressure bound with it).
    package var queuedOutputBytes: Int { connection?.queuedOutputBytes ?? 0 }

    /// Whether the body is paused by `pauseBody()`.
    public var isBodyPaused: Bool { bodyPaused }

}
