// SPDX-License-Identifier: Apache-2.0
// Calls that outlive the request that started them (a job's cancel), against a real loopback
// peer: sent after their starter is gone, started safely from inside curl's callbacks, held to
// a bound, and ended by their deadline when the platform does not answer.
import Synchronization
import Testing
import TollgateTestSupport
import TollgateIO
@testable import TollgateUpstream

/// Stands in for a job-based backend's invocation: on cancel it asks the platform to cancel
/// its job, then it is dropped, as an invocation is when its exchange goes away.
private final class JobInvocation {
    let jobID: String
    let baseURL: String
    unowned let calls: DetachedCalls

    init(jobID: String, baseURL: String, calls: DetachedCalls) {
        self.jobID = jobID
        self.baseURL = baseURL
        self.calls = calls
    }

    func cancel() -> Bool {
        calls.start(UpstreamRequest(url: baseURL + "/v2/endpoint/cancel/" + jobID, method: "POST",
                                    headers: [("Authorization", "Bearer rp-key")], body: .bytes(Array("{}".utf8))))
    }
}

/// A loop with its DetachedCalls.
private final class DetachedHarness: @unchecked Sendable {
    let upstream: UpstreamHarness
    private(set) var calls: DetachedCalls?

    init(limit: Int = 8, timeoutMs: Int = 5_000) throws {
        upstream = try UpstreamHarness()
        upstream.onLoop {
            guard let multi = self.upstream.multi else { return }
            self.calls = DetachedCalls(multi: multi, limit: limit, timeoutMs: timeoutMs)
        }
    }

    /// Counts and outstanding calls, read on the loop.
    var state: (counts: DetachedCalls.Counts, outstanding: Int) {
        let box = Shared<(counts: DetachedCalls.Counts, outstanding: Int)>((.init(), -1))
        upstream.onLoop { if let calls = self.calls { box.value = (calls.counts, calls.outstanding) } }
        return box.value
    }

    func shutdown() {
        upstream.shutdown()
        calls = nil
    }
}

@Suite(.timeLimit(.minutes(1)))
struct DetachedCallsTests {
    @Test func aCancelIsSentAndAnsweredAfterItsStarterIsGone() throws {
        let peer = try LoopbackPeer(always: PeerReply(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"]))
        defer { peer.stop() }
        let harness = try DetachedHarness()
        defer { harness.shutdown() }
        let accepted = Shared(false)
        let starterGone = Shared(false)
        harness.upstream.onLoop {
            guard let calls = harness.calls else { return }
            var invocation: JobInvocation? = JobInvocation(jobID: "job-1", baseURL: peer.url, calls: calls)
            weak let watched = invocation
            accepted.value = invocation?.cancel() ?? false
            invocation = nil
            starterGone.value = watched == nil
        }
        #expect(accepted.value && starterGone.value)
        #expect(eventually { harness.state.counts.succeeded == 1 })
        #expect(harness.state.outstanding == 0)
        let request = try #require(peer.snapshot.requests.first)
        #expect(request.hasPrefix("POST /v2/endpoint/cancel/job-1 HTTP/1.1\r\n"))
        #expect(request.contains("Authorization: Bearer rp-key\r\n") && request.hasSuffix("\r\n\r\n{}"))
    }

    @Test func aCancelStartedInsideCurlsCallbackIsStillSent() throws {
        // The usual case: a client write fails while another transfer's body is relayed, the
        // exchange aborts, and its job is cancelled from inside curl's write callback, where
        // curl_multi_add_handle would be refused.
        let peer = try LoopbackPeer { request in
            request.hasPrefix("GET /stream")
                ? PeerReply(["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + String(repeating: "x", count: 10)], closeAfter: false)
                : PeerReply(["HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"])
        }
        defer { peer.stop() }
        let harness = try DetachedHarness()
        defer { harness.shutdown() }
        let accepted = Shared(false)
        let relay = TransferRecorder()
        relay.onBody = { _, transfer in
            guard let calls = harness.calls else { return false }
            transfer.cancel()
            accepted.value = JobInvocation(jobID: "job-2", baseURL: peer.url, calls: calls).cancel()
            return false
        }
        relay.start(UpstreamRequest(url: peer.url + "/stream", method: "GET", totalTimeoutMs: 5_000), on: harness.upstream)
        #expect(eventually { harness.state.counts.succeeded == 1 })
        #expect(accepted.value)
        #expect(peer.snapshot.requests.contains { $0.hasPrefix("POST /v2/endpoint/cancel/job-2 ") })
        #expect(harness.state.counts.failed == 0 && harness.state.outstanding == 0)
    }

    @Test func atMostLimitCallsAreHeldAndTheRestAreRefused() throws {
        let gate = Gate()
        let peer = try LoopbackPeer(always: PeerReply(["HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"], gate: gate))
        defer { peer.stop() }
        let harness = try DetachedHarness(limit: 2)
        defer { harness.shutdown() }
        let accepted = Shared<[Bool]>([])
        harness.upstream.onLoop {
            guard let calls = harness.calls else { return }
            for id in ["a", "b", "c"] {
                let ok = JobInvocation(jobID: id, baseURL: peer.url, calls: calls).cancel()
                accepted.value.append(ok)
            }
        }
        #expect(accepted.value == [true, true, false])
        #expect(eventually { peer.snapshot.requests.count == 2 })
        #expect(harness.state.outstanding == 2 && harness.state.counts.refused == 1)
        gate.open()
        #expect(eventually { harness.state.counts.succeeded == 2 })
        #expect(harness.state.outstanding == 0)
        // Room again once they ended.
        let again = Shared(false)
        harness.upstream.onLoop {
            guard let calls = harness.calls else { return }
            again.value = JobInvocation(jobID: "d", baseURL: peer.url, calls: calls).cancel()
        }
        #expect(again.value)
        #expect(eventually { harness.state.counts.succeeded == 3 })
    }

    @Test func aCallThePlatformNeverAnswersEndsAtItsDeadline() throws {
        let peer = try LoopbackPeer(always: PeerReply([], closeAfter: false, gate: Gate()))
        defer { peer.stop() }
        let harness = try DetachedHarness(timeoutMs: 200)
        defer { harness.shutdown() }
        harness.upstream.onLoop {
            guard let calls = harness.calls else { return }
            _ = JobInvocation(jobID: "slow", baseURL: peer.url, calls: calls).cancel()
        }
        #expect(eventually { harness.state.counts.failed == 1 })
        #expect(harness.state.outstanding == 0)
        // Its connection is closed, not left to the platform's patience.
        #expect(eventually { peer.snapshot.clientCloses == 1 })
    }

    @Test func aRefusalIsCountedApartFromAFailure() throws {
        let peer = try LoopbackPeer(always: PeerReply(["HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nno such j"]))
        defer { peer.stop() }
        let harness = try DetachedHarness()
        defer { harness.shutdown() }
        harness.upstream.onLoop {
            guard let calls = harness.calls else { return }
            _ = JobInvocation(jobID: "gone", baseURL: peer.url, calls: calls).cancel()
            // A body pulled from a caller that may be gone is never accepted.
            _ = calls.start(UpstreamRequest(url: peer.url, body: .stream(length: 2)))
        }
        #expect(eventually { harness.state.counts.rejected == 1 })
        let counts = harness.state.counts
        #expect(counts.started == 1 && counts.refused == 1 && counts.failed == 0 && counts.succeeded == 0)
    }
}
