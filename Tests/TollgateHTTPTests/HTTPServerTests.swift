// SPDX-License-Identifier: Apache-2.0
// The server over real sockets on 127.0.0.1: keep-alive, pipelining, bodies, timeouts,
// limits, backpressure and drain. Every wait is bounded by a receive deadline or a poll loop.
import CLinux
import Glibc
import Testing
import TollgateHTTP
import TollgateIO
import TollgateTestSupport

private let host = "Host: t\r\n"

@Suite(.serialized)
struct HTTPServerTests {
    @Test func keepAliveServesSeveralRequestsOnOneConnection() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        for i in 0..<3 {
            client.send("GET /hello?\(i) HTTP/1.1\r\n\(host)\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "hello \(i)")
            #expect(response.header("x-request-id")?.count == 24)
            #expect(response.header("connection") == nil)
            #expect(response.header("date")?.hasSuffix("GMT") == true)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.send("GET /hello?1 HTTP/1.1\r\n\(host)\r\nGET /slow?30 HTTP/1.1\r\n\(host)\r\nPOST /echo HTTP/1.1\r\n\(host)Content-Length: 3\r\n\r\nabcGET /hello?4 HTTP/1.1\r\n\(host)\r\n")
        #expect(try client.readResponse().text == "hello 1")
        #expect(try client.readResponse().text == "late")
        #expect(try client.readResponse().text == "3")
        #expect(try client.readResponse().text == "hello 4")
    }

    @Test func clientRequestIDIsEchoed() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.send("GET /hello HTTP/1.1\r\n\(host)X-Request-ID: my-id-42\r\n\r\n")
        #expect(try client.readResponse().header("x-request-id") == "my-id-42")
    }

    @Test func malformedRequestGets400JSONThenGracefulClose() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.send("POST /echo HTTP/1.1\r\n\(host)Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello HTTP/1.1\r\n\(host)\r\n")
        let response = try client.readResponse()
        #expect(response.status == 400)
        #expect(response.header("connection") == "close")
        #expect(response.header("content-type") == "application/json")
        #expect(response.text.contains("\"error\":{\"message\":"))
        #expect(response.text.contains("\"code\":\"bad_request\""))
        // Exactly one response: the smuggled GET is never answered.
        #expect(try client.readUntilClosed().isEmpty)
        #expect(eventually { server.counters.snapshot.rejected == [400] })
    }

    @Test func errorIsReadableEvenWhenTheClientKeepsSending() throws {
        // Lingering close: the client's unread bytes must not turn our 413 into a reset.
        let server = try TestServer { $0.limits = HTTPParserLimits(maxBody: 1024) }
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.send("POST /echo HTTP/1.1\r\n\(host)Content-Length: 4096\r\n\r\n")
        client.send([UInt8](repeating: 0x41, count: 4096))
        let response = try client.readResponse()
        #expect(response.status == 413)
        #expect(response.header("connection") == "close")
    }

    @Test func unsupportedMethodIs501AndUnknownVersionIs505() throws {
        let server = try TestServer()
        defer { server.stop() }
        let a = try RawClient(port: server.port)
        a.send("BREW /pot HTTP/1.1\r\n\(host)\r\n")
        #expect(try a.readResponse().status == 501)
        let b = try RawClient(port: server.port)
        b.send("GET / HTTP/3.0\r\n\(host)\r\n")
        #expect(try b.readResponse().status == 505)
    }

    @Test func headerTimeoutClosesSlowloris() throws {
        let server = try TestServer { $0.headerTimeout = 300_000_000 }
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        let start = tg_monotonic_ns()
        client.send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: 1\r\n")
        let response = try client.readResponse()
        let elapsed = Double(tg_monotonic_ns() - start) / 1e9
        #expect(response.status == 408)
        #expect(response.header("connection") == "close")
        #expect(elapsed >= 0.25 && elapsed < 3, "elapsed \(elapsed)")
        #expect(try client.readUntilClosed().isEmpty)
    }

    @Test func headerTimeoutAppliesToSilentNewConnections() throws {
        let server = try TestServer { $0.headerTimeout = 200_000_000 }
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        #expect(try client.readResponse().status == 408)
    }

    @Test func idleKeepAliveConnectionIsClosed() throws {
        let server = try TestServer { $0.idleTimeout = 200_000_000 }
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.send("GET /hello HTTP/1.1\r\n\(host)\r\n")
        #expect(try client.readResponse().status == 200)
        #expect(try client.readUntilClosed().isEmpty)
        #expect(eventually { server.server.connectionCount == 0 })
    }

    @Test func bodyGapTimeoutIs408() throws {
        let server = try TestServer { $0.bodyTimeout = 200_000_000 }
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.send("POST /echo HTTP/1.1\r\n\(host)Content-Length: 10\r\n\r\nabc")
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(eventually { server.counters.snapshot.aborted == 1 })
    }

    @Test func contentLengthAndChunkedBodiesAreRead() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        let body = [UInt8](repeating: 0x61, count: 1_000_000)
        client.send("POST /echo?pause HTTP/1.1\r\n\(host)Content-Length: \(body.count)\r\n\r\n")
        client.send(body)
        #expect(try client.readResponse().text == "1000000")
        var chunked = "POST /echo HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n"
        for size in [1, 10, 4096, 70000] { chunked += String(size, radix: 16) + "\r\n" + String(repeating: "z", count: size) + "\r\n" }
        chunked += "0\r\nX-Trailer: ok\r\n\r\n"
        client.send(chunked)
        #expect(try client.readResponse().text == "\(1 + 10 + 4096 + 70000)")
    }

    @Test func emptyBodiesReachTheirEndInEveryFraming() throws {
        // Content-Length: 0 and no framing at all: the responder that reads the body must
        // hear that it ended (it used to wait forever), and the connection stays usable.
        let server = try TestServer()
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        for framing in ["Content-Length: 0\r\n", "", "Transfer-Encoding: chunked\r\n"] {
            let body = framing.contains("chunked") ? "0\r\n\r\n" : ""
            client.send("POST /echo HTTP/1.1\r\n\(host)\(framing)\r\n\(body)")
            let response = try client.readResponse()
            #expect(response.text == "0", "framing \(framing)")
            #expect(response.header("connection") == nil)
        }
    }

    @Test func expectContinueGetsInterimResponseOnlyWhenBodyIsRead() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.send("POST /echo HTTP/1.1\r\n\(host)Expect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        #expect(try client.readResponse().status == 100)
        client.send("abcd")
        #expect(try client.readResponse().text == "4")
        // A route that answers without reading the body: no 100, and the connection closes.
        let other = try RawClient(port: server.port)
        other.send("POST /hello HTTP/1.1\r\n\(host)Expect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        let response = try other.readResponse()
        #expect(response.status == 200)
        #expect(response.header("connection") == "close")
    }

    @Test func headAndHTTP10() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.send("HEAD /hello HTTP/1.1\r\n\(host)\r\n")
        let head = try client.readResponse(isHEAD: true)
        #expect(head.status == 200)
        #expect(head.header("content-length") == "6")
        client.send("GET /hello?again HTTP/1.1\r\n\(host)\r\n")
        #expect(try client.readResponse().text == "hello again")

        let old = try RawClient(port: server.port)
        old.send("GET /stream?100 HTTP/1.0\r\n\r\n")
        let streamed = try old.readResponse()
        #expect(streamed.header("transfer-encoding") == nil)
        #expect(streamed.header("connection") == "close")
        #expect(streamed.body.count == 100)
    }

    @Test func slowReaderGetsBackpressureNotUnboundedBuffering() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        var small: Int32 = 64 * 1024
        setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        // Far more than the kernel's socket buffers and the high-water mark together.
        let total = 64 * 1024 * 1024
        client.send("GET /stream?\(total) HTTP/1.1\r\n\(host)\r\n")
        // Do not read until the server has had to stop producing ...
        #expect(eventually { server.counters.snapshot.blockedWrites > 0 })
        // ... and it stays stopped: what it produced is bounded by what the kernel holds,
        // not the 64 MiB it was asked for.
        let producedWhileBlocked = server.counters.snapshot.producedBytes
        #expect(producedWhileBlocked < 16 * 1024 * 1024, "produced \(producedWhileBlocked) bytes for a reader that reads nothing")
        let response = try client.readResponse()
        #expect(response.body.count == total)
        #expect(server.counters.snapshot.streamedBytes == total)
        // The connection never held more than the high-water mark plus one write.
        let options = HTTPServerOptions()
        #expect(server.counters.snapshot.maxQueued > 0)
        #expect(server.counters.snapshot.maxQueued <= options.highWaterMark + 16 * 1024 + 64,
                "held \(server.counters.snapshot.maxQueued) bytes")
    }

    @Test func pausedBodyStaysInTheClientsKernelNotInOurMemory() throws {
        let server = try TestServer { $0.limits = HTTPParserLimits(maxBody: 1 << 30) }
        defer { server.stop() }
        let client = try RawClient(port: server.port, timeoutSeconds: 1)
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(client.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let total = 256 * 1024 * 1024
        client.send("POST /hold HTTP/1.1\r\n\(host)Content-Length: \(total)\r\n\r\n")
        let piece = [UInt8](repeating: 0x61, count: 1 << 20)
        var sent = 0
        // Send until the kernel refuses more (both socket buffers full): the server paused.
        while sent < total, client.trySend(piece) { sent += piece.count }
        #expect(sent < total, "the server read everything: no backpressure")
        #expect(eventually { server.counters.snapshot.started == 1 })
        // What the server took is one read of its scratch buffer, however much was sent.
        #expect(server.counters.snapshot.bodyBytes <= 64 * 1024, "read \(server.counters.snapshot.bodyBytes)")
    }

    @Test func clientDisconnectMidStreamAbortsTheExchange() throws {
        let server = try TestServer()
        defer { server.stop() }
        do {
            let client = try RawClient(port: server.port)
            var small: Int32 = 4096
            setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            client.send("GET /stream?100000000 HTTP/1.1\r\n\(host)\r\n")
            #expect(eventually { server.counters.snapshot.blockedWrites > 0 })
        }
        #expect(eventually { server.counters.snapshot.aborted == 1 })
        #expect(eventually { server.server.connectionCount == 0 })
    }

    /// An exchange outlives its connection (an upstream answers after the client left): every
    /// call on it is then a no-op and none reaches the closed (and released) connection. The
    /// exchange holds its connection without a weak reference (`HTTPExchange.connection`), so
    /// this checks the detach on every path that ends a connection.
    @Test func lateAnswerAfterTheClientLeftTouchesNoConnection() throws {
        let server = try TestServer()
        defer { server.stop() }
        // Control: with the client still there the same answer arrives.
        let staying = try RawClient(port: server.port)
        staying.send("GET /late?20 HTTP/1.1\r\n\(host)\r\n")
        let response = try staying.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "late")
        for round in 1...3 {
            do {
                let leaving = try RawClient(port: server.port)
                leaving.send("GET /late?150 HTTP/1.1\r\n\(host)\r\n")
                #expect(eventually { server.counters.snapshot.started == 1 + round })
            }
            #expect(eventually { server.counters.snapshot.aborted == round })
            #expect(eventually { server.server.connectionCount == 1 })  // only `staying`
            #expect(eventually { server.counters.snapshot.lateReplies == 1 + round })
        }
        #expect(server.counters.snapshot.lateRepliesReachingAConnection == 0)
        // The loop still serves.
        staying.send("GET /hello?ok HTTP/1.1\r\n\(host)\r\n")
        #expect(try staying.readResponse().text == "hello ok")
    }

    @Test func connectionsBeyondTheLimitGet503AndTheServerStaysUp() throws {
        let server = try TestServer { $0.maxConnections = 2 }
        defer { server.stop() }
        let a = try RawClient(port: server.port)
        let b = try RawClient(port: server.port)
        a.send("GET /hello HTTP/1.1\r\n\(host)\r\n")
        b.send("GET /hello HTTP/1.1\r\n\(host)\r\n")
        #expect(try a.readResponse().status == 200)
        #expect(try b.readResponse().status == 200)
        let c = try RawClient(port: server.port)
        let rejected = try c.readResponse()
        #expect(rejected.status == 503)
        #expect(rejected.text.contains("max_connections"))
        a.send("GET /hello HTTP/1.1\r\n\(host)\r\n")
        #expect(try a.readResponse().status == 200)
    }

    @Test func thousandConcurrentConnections() throws {
        let server = try TestServer(workers: 2)
        defer { server.stop() }
        var clients: [RawClient] = []
        for _ in 0..<1000 { clients.append(try RawClient(port: server.port)) }
        for (i, client) in clients.enumerated() { client.send("GET /hello?\(i) HTTP/1.1\r\n\(host)\r\n") }
        for (i, client) in clients.enumerated() {
            #expect(try client.readResponse().text == "hello \(i)")
        }
        #expect(server.server.connectionCount == 1000)
        clients.removeAll()
        #expect(eventually { server.server.connectionCount == 0 })
    }

    @Test func drainFinishesInFlightRequestsAndRefusesNewOnes() throws {
        let server = try TestServer()
        let slow = try RawClient(port: server.port)
        slow.send("GET /slow?300 HTTP/1.1\r\n\(host)\r\n")
        let idle = try RawClient(port: server.port)
        idle.send("GET /hello HTTP/1.1\r\n\(host)\r\n")
        #expect(try idle.readResponse().status == 200)
        #expect(eventually { server.counters.snapshot.ended == 1 })
        // Both requests are with the responder: the slow one is in flight, not merely accepted.
        #expect(eventually { server.counters.snapshot.started == 2 })
        let result = ResultBox()
        let http = server.server
        let drainer = PosixThread { result.set(http.drain(timeout: 5_000_000_000)) }
        drainer.start()
        let response = try slow.readResponse()
        #expect(response.text == "late")
        #expect(response.header("connection") == "close")
        #expect(try idle.readUntilClosed().isEmpty)
        drainer.join()
        #expect(result.value == true)
        #expect(throws: RawClientError.self) { _ = try RawClient(port: server.port) }
        server.group.stop()
        server.group.join()
    }

    @Test func drainDeadlineClosesWhatIsLeft() throws {
        let server = try TestServer()
        let slow = try RawClient(port: server.port)
        slow.send("GET /slow?60000 HTTP/1.1\r\n\(host)\r\n")
        // In flight, not merely accepted: a connection still waiting for its head would close
        // at once when the drain starts, and the drain would not need its deadline.
        #expect(eventually { server.counters.snapshot.started == 1 })
        #expect(server.server.drain(timeout: 200_000_000) == false)
        #expect(try slow.readUntilClosed().isEmpty)
        #expect(eventually { server.counters.snapshot.aborted == 1 })
        server.group.stop()
        server.group.join()
    }
}

final class ResultBox: @unchecked Sendable {
    // Written by one thread before join(); read after join() (the join orders the accesses).
    private(set) var value: Bool?
    func set(_ v: Bool) { value = v }
}
