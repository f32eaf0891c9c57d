// SPDX-License-Identifier: Apache-2.0
// The curl layer against a real loopback peer: what of an upstream's head reaches the adapter
// (its allowlist, clean values only, a length only when it frames the body), and how a
// transfer ends when it is cancelled mid-body, when the upstream closes mid-body, and when the
// upstream's Content-Length lies.
import Testing
import TollgateTestSupport
import TollgateIO
@testable import TollgateUpstream

@Suite(.timeLimit(.minutes(1)))
struct UpstreamTransferTests {
    /// Runs one GET against a peer answering with `reply`, until the transfer ended.
    private func fetch(_ reply: PeerReply, allowlist: [String] = [], maxResponseBytes: Int = 1 << 20,
                       totalTimeoutMs: Int = 5_000) throws -> TransferEvents {
        let peer = try LoopbackPeer(always: reply)
        defer { peer.stop() }
        let harness = try UpstreamHarness()
        defer { harness.shutdown() }
        let recorder = TransferRecorder()
        recorder.start(UpstreamRequest(url: peer.url + "/v1/x", method: "GET", totalTimeoutMs: totalTimeoutMs,
                                       maxResponseBytes: maxResponseBytes,
                                       responseHeaders: UpstreamHeaderAllowlist(allowlist)), on: harness)
        #expect(eventually { recorder.snapshot.ends == 1 })
        return recorder.snapshot
    }

    private static func head(_ lines: [String]) -> String {
        "HTTP/1.1 200 OK\r\n" + lines.map { $0 + "\r\n" }.joined() + "\r\n"
    }

    // MARK: - The head

    @Test func onlyTheAllowlistedHeadersReachTheDelegateWithLowercaseNames() throws {
        let events = try fetch(PeerReply([Self.head([
            "Content-Type: application/json",
            "OpenAI-Organization: org-secret",
            "Set-Cookie: session=abc",
            "X-RateLimit-Remaining-Requests: 99",
            "CACHE-CONTROL: no-store",
            "Retry-After: 3",
            "Content-Length: 2",
        ]) + "{}"]), allowlist: ["content-type", "Cache-Control", "retry-after", "content-length", "transfer-encoding"])
        #expect(events.status == 200)
        // The framing headers are the transfer's own business even when a list names them.
        #expect(events.headers.map(\.0) == ["content-type", "cache-control", "retry-after"])
        #expect(events.headers.map(\.1) == ["application/json", "no-store", "3"])
        #expect(events.text == "{}")
        #expect(events.outcome == .completed)
    }

    @Test func anEmptyAllowlistKeepsNoHeader() throws {
        let events = try fetch(PeerReply([Self.head(["Content-Type: text/plain", "X-A: b", "Content-Length: 1"]) + "z"]))
        #expect(events.headers.isEmpty)
        #expect(events.contentLength == 1)
    }

    @Test func aValueWithAControlByteIsDroppedNotRepaired() throws {
        let names = ["x-soh", "x-esc", "x-del", "x-cr", "x-tab", "x-utf8", "x-plain"]
        let events = try fetch(PeerReply(bytes: [Array(Self.head([
            "X-SOH: a\u{01}b",
            "X-ESC: a\u{1B}[31mb",
            "X-DEL: a\u{7F}b",
            "X-CR: a\rInjected: yes",
            "X-Tab: a\tb",
            "X-UTF8: café",
            "X-Plain:   padded value  ",
            "Content-Length: 0",
        ]).utf8)]), allowlist: names + ["injected"])
        #expect(events.outcome == .completed)
        // A tab and obs-text are field content (RFC 9110 §5.5); the rest never reaches a client.
        #expect(events.headers.map(\.0) == ["x-tab", "x-utf8", "x-plain"])
        #expect(events.headers.map(\.1) == ["a\tb", "café", "padded value"])
    }

    @Test func aContentLengthIsPassedOnlyWhenItFramesTheBody() throws {
        let plain = try fetch(PeerReply([Self.head(["Content-Length: 5"]) + "hello"]))
        #expect(plain.contentLength == 5 && plain.text == "hello")

        let repeated = try fetch(PeerReply([Self.head(["Content-Length: 5", "Content-Length: 5"]) + "hello"]))
        #expect(repeated.contentLength == 5 && repeated.text == "hello")

        let chunked = try fetch(PeerReply([Self.head(["Transfer-Encoding: chunked"]) + "5\r\nhello\r\n0\r\n\r\n"]))
        #expect(chunked.contentLength == nil && chunked.text == "hello" && chunked.outcome == .completed)

        // Both: curl de-chunks and ignores the length (RFC 9112 §6.3), so must the client.
        let both = try fetch(PeerReply([Self.head(["Content-Length: 3", "Transfer-Encoding: chunked"])
                                        + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"]))
        #expect(both.contentLength == nil && both.text == "hello world" && both.outcome == .completed)

        let garbled = try fetch(PeerReply([Self.head(["Content-Length: 5x"]) + "hello"]))
        #expect(garbled.contentLength == nil)
    }

    // MARK: - Ends

    @Test func aCancelInsideTheBodyCallbackClosesTheUpstreamConnectionAndReportsNothing() throws {
        try cancelMidBody(fromCallback: true)
    }

    @Test func aCancelFromTheLoopWhilePausedClosesTheUpstreamConnectionAndReportsNothing() throws {
        try cancelMidBody(fromCallback: false)
    }

    /// The peer sends half its declared body and waits; the transfer is cancelled after the
    /// first piece, from inside curl's write callback or later from the loop while paused.
    private func cancelMidBody(fromCallback: Bool) throws {
        let peer = try LoopbackPeer(always: PeerReply([Self.head(["Content-Length: 1000"]) + String(repeating: "a", count: 10)],
                                                      closeAfter: false))
        defer { peer.stop() }
        let harness = try UpstreamHarness()
        defer { harness.shutdown() }
        let recorder = TransferRecorder()
        recorder.onBody = { _, transfer in
            if fromCallback { transfer.cancel() }
            return false  // pause: nothing more arrives until the test acts
        }
        recorder.start(UpstreamRequest(url: peer.url, method: "GET", totalTimeoutMs: 5_000), on: harness)
        #expect(eventually { recorder.snapshot.bodyCalls == 1 })
        if !fromCallback {
            harness.onLoop { recorder.transfer?.cancel() }
        }
        // The connection is closed, not parked in curl's cache with a body half read: the
        // backend learns at once that nobody waits for the rest.
        #expect(eventually { peer.snapshot.clientCloses == 1 })
        // A later loop pass has run (onLoop waits for it); still not a word after the cancel.
        harness.onLoop {}
        let events = recorder.snapshot
        #expect(events.ends == 0 && events.outcome == nil)
        #expect(events.text == String(repeating: "a", count: 10))
    }

    @Test func anUpstreamClosingMidBodyIsABrokenTransfer() throws {
        let short = try fetch(PeerReply([Self.head(["Content-Length: 100"]), String(repeating: "b", count: 10)]))
        #expect(short.contentLength == 100)
        #expect(short.text == String(repeating: "b", count: 10))
        guard case .broken? = short.outcome else {
            Issue.record("a body cut short ended as \(String(describing: short.outcome))")
            return
        }

        let chunked = try fetch(PeerReply([Self.head(["Transfer-Encoding: chunked"]) + "5\r\nhello\r\n", "40\r\nabc"]))
        #expect(chunked.text.hasPrefix("hello"))
        guard case .broken? = chunked.outcome else {
            Issue.record("a chunked body cut short ended as \(String(describing: chunked.outcome))")
            return
        }
    }

    @Test func anUpstreamThatSendsMoreThanItsContentLengthIsHeldToIt() throws {
        // The peer sends 10 bytes after promising 5, and keeps the connection open: the
        // transfer ends at the length, with only the promised bytes.
        let events = try fetch(PeerReply([Self.head(["Content-Length: 5"]) + "hellogarbage"], closeAfter: false))
        #expect(events.contentLength == 5)
        #expect(events.text == "hello")
        #expect(events.outcome == .completed)
    }

    @Test func aDeclaredLengthOverTheCapIsRefusedBeforeTheHead() throws {
        let events = try fetch(PeerReply([Self.head(["Content-Length: 100"]) + String(repeating: "c", count: 100)]),
                               maxResponseBytes: 50)
        #expect(events.status == nil && events.body.isEmpty)
        #expect(events.outcome == .tooLarge)
    }

    @Test func anUndeclaredBodyOverTheCapIsCutAtTheCap() throws {
        let events = try fetch(PeerReply([Self.head(["Transfer-Encoding: chunked"]) + "40\r\n" + String(repeating: "d", count: 64) + "\r\n0\r\n\r\n"]),
                               maxResponseBytes: 50)
        #expect(events.status == 200)
        #expect(events.outcome == .tooLarge)
        #expect(events.body.count <= 50)
    }

    @Test func anUpstreamThatNeverAnswersTimesOut() throws {
        let events = try fetch(PeerReply([], closeAfter: false, gate: Gate()), totalTimeoutMs: 200)
        guard case .timedOut? = events.outcome else {
            Issue.record("a silent upstream ended as \(String(describing: events.outcome))")
            return
        }
        #expect(events.status == nil)
    }
}
