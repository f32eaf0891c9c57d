// SPDX-License-Identifier: Apache-2.0
// Easy handles keep their options from one transfer to the next (CurlEasy): one after another
// on one multi, requests of every kind must each go out as if on a fresh handle — no method,
// body, header or length of the one before.
import Testing
import TollgateTestSupport
import TollgateIO
import TollgateCore
@testable import TollgateUpstream

/// A delegate that serves a request body (whole, or only part of it while the transfer starts).
private final class BodyRecorder: UpstreamTransferDelegate, @unchecked Sendable {
    let events = Shared(0)
    let outcome = Shared<UpstreamOutcome?>(nil)
    private let body: [UInt8]
    private var offset = 0
    /// Bytes given while the transfer starts; the rest only through curl's read callback.
    private let atStart: Int
    private var starting = true
    var transfer: UpstreamTransfer?

    init(body: String, atStart: Int? = nil) {
        self.body = Array(body.utf8)
        self.atStart = atStart ?? self.body.count
    }

    func start(_ request: UpstreamRequest, on harness: UpstreamHarness) {
        harness.onLoop {
            guard let multi = harness.multi else { return }
            self.transfer = UpstreamTransfer(request: request, multi: multi, delegate: self)
            self.starting = false
        }
    }

    func upstreamHead(_ transfer: UpstreamTransfer, status: Int, headers: [(String, String)]) {}
    func upstreamBody(_ transfer: UpstreamTransfer, _ bytes: UnsafeRawBufferPointer) -> Bool { true }

    func upstreamReadBody(_ transfer: UpstreamTransfer, into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        let limit = starting ? atStart : body.count
        guard offset < limit else { return offset < body.count ? .wouldBlock : .end }
        // One byte at a time while starting: the transfer must gather the pieces.
        let n = min(starting ? 1 : limit - offset, buffer.count)
        body.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        offset += n
        return .bytes(n)
    }

    func upstreamEnded(_ transfer: UpstreamTransfer, outcome: UpstreamOutcome) {
        self.outcome.value = outcome
        events.value += 1
        self.transfer = nil
    }
}

@Suite(.timeLimit(.minutes(1)))
struct HandleReuseTests {
    @Test func eachRequestGoesOutAsOnAFreshHandle() throws {
        // The peer closes after each reply, so it says so: curl must not send the next request down
        // a connection the peer is closing (a reset that fails a POST it cannot replay).
        let peer = try LoopbackPeer(always: PeerReply(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"]))
        defer { peer.stop() }
        let harness = try UpstreamHarness()
        defer { harness.shutdown() }

        var expected: [(request: String, has: [String], hasNot: [String])] = []
        func run(_ request: UpstreamRequest, body: String = "", atStart: Int? = nil,
                 has: [String], hasNot: [String] = []) {
            let recorder = BodyRecorder(body: body, atStart: atStart)
            recorder.start(request, on: harness)
            #expect(eventually { recorder.events.value == 1 })
            #expect(recorder.outcome.value == .completed, "\(request.method) \(request.url)")
            expected.append((request.url, has, hasNot))
        }
        let json = #"{"model":"m","messages":[]}"#
        // Request ids as the gateway makes them: 24 hex digits written straight into the header.
        let id1 = RequestID(prefix: 0xabc, counter: 1), id3 = RequestID(prefix: 0xabc, counter: 3)
        let id8 = RequestID(prefix: 0xabc, counter: 8)
        run(UpstreamRequest(url: peer.url + "/1", method: "POST", headers: [("X-Extra", "1")], accept: "application/json",
                            requestID: id1, body: .buffered(length: json.utf8.count)),
            body: json,
            has: ["POST /1 ", "\r\nX-Extra: 1\r\n", "\r\nAccept: application/json\r\n", "\r\nX-Request-ID: \(id1)\r\n",
                  "\r\nContent-Length: \(json.utf8.count)\r\n", "\r\n\r\n" + json])
        run(UpstreamRequest(url: peer.url + "/2", method: "GET"),
            has: ["GET /2 "], hasNot: ["X-Extra", "X-Request-ID", "application/json", "Content-Length", json])
        // Only 3 bytes while starting: the rest follows through the read callback.
        run(UpstreamRequest(url: peer.url + "/3", method: "POST", requestID: id3, body: .buffered(length: 11)),
            body: "hello world", atStart: 3,
            has: ["POST /3 ", "\r\nX-Request-ID: \(id3)\r\n", "\r\nContent-Length: 11\r\n", "\r\n\r\nhello world"],
            hasNot: [id1.description, "X-Extra"])
        run(UpstreamRequest(url: peer.url + "/4", method: "PUT", body: .bytes(Array("xyz".utf8))),
            has: ["PUT /4 ", "\r\nContent-Length: 3\r\n", "\r\n\r\nxyz"], hasNot: ["X-Request-ID"])
        run(UpstreamRequest(url: peer.url + "/5", method: "HEAD"),
            has: ["HEAD /5 "], hasNot: ["Content-Length", "xyz"])
        run(UpstreamRequest(url: peer.url + "/6", method: "DELETE"),
            has: ["DELETE /6 "], hasNot: ["Content-Length"])
        run(UpstreamRequest(url: peer.url + "/7", method: "POST", body: .stream(length: 5)), body: "abcde",
            has: ["POST /7 ", "\r\nContent-Length: 5\r\n", "\r\n\r\nabcde"])
        run(UpstreamRequest(url: peer.url + "/8", method: "POST", requestID: id8, body: .buffered(length: json.utf8.count)),
            body: json,
            has: ["POST /8 ", "\r\nX-Request-ID: \(id8)\r\n", "\r\n\r\n" + json], hasNot: ["X-Extra", id3.description])
        run(UpstreamRequest(url: peer.url + "/9", method: "GET"),
            has: ["GET /9 "], hasNot: ["Content-Length", id8.description, json])

        let requests = peer.snapshot.requests
        #expect(requests.count == expected.count)
        for (request, want) in zip(requests, expected) {
            for part in want.has { #expect(request.contains(part), "\(want.request): \(part) in \(request)") }
            for part in want.hasNot { #expect(!request.contains(part), "\(want.request): no \(part) in \(request)") }
        }
    }
}
