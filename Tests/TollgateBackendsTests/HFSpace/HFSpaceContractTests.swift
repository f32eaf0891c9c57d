// SPDX-License-Identifier: Apache-2.0
// The adapter contract (issue 7 item 5) for hf_space: nothing reported inside `invoke`, even
// for a call that fails at once; a cancelled call reports nothing.
import Synchronization
import Testing
import TollgateTestSupport
@testable import TollgateBackends
import TollgateIO
import TollgateUpstream
import TollgateCore

private final class SpaceSink: BackendSink, RequestBodySource, @unchecked Sendable {
    var events: [String] = []
    var invoking = false
    var reportedInsideInvoke = false
    let done = Atomic<Bool>(false)

    func backendHead(status: Int, headers: [(String, String)], contentLength: Int?) { note("head \(status)") }
    func backendBody(_ bytes: UnsafeRawBufferPointer) -> Bool { note("body"); return true }
    func backendEnded(_ report: BackendReport) {
        note("ended \(report.outcome)")
        done.store(true, ordering: .releasing)
    }
    func readBody(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk { .end }
    func bufferedBody() -> [UInt8]? { nil }

    private func note(_ event: String) {
        if invoking { reportedInsideInvoke = true }
        events.append(event)
    }
}

private final class Box<Value>: @unchecked Sendable {
    var value: Value?
}

struct HFSpaceContractTests {
    private func run(_ operation: APIOperation, baseURL: String) throws -> SpaceSink? {
        try withRunningLoop { loop in
            let sink = SpaceSink()
            let keep = Box<any BackendInvocation>()
            loop.execute {
                let backendLoop = BackendLoop(loop: loop, curlShare: CurlShare())
                let adapter = HFSpaceBackend(options: HFSpaceBackendOptions(endpoint: BackendEndpoint(
                    name: "s", baseURL: baseURL, apiKey: "t", connectTimeoutMs: 2000)), loop: backendLoop)
                let call = BackendCall(operation: operation, model: "m", upstreamModel: "m", stream: false, bodyLength: 0,
                                       requestID: RequestID(prefix: 1, counter: 1))
                sink.invoking = true
                keep.value = adapter.invoke(call, body: sink, sink: sink)
                sink.invoking = false
            }
            return eventually { sink.done.load(ordering: .acquiring) } ? sink : nil
        }
    }

    @Test func aRefusedConnectionFailsAfterInvokeReturned() throws {
        // Port 9 (discard) on loopback: nothing listens; `/config` cannot be read.
        let sink = try #require(try run(.run, baseURL: "http://127.0.0.1:9"))
        #expect(!sink.reportedInsideInvoke)
        #expect(sink.events.count == 1 && sink.events[0].hasPrefix("ended connect failed"))
    }

    @Test func aChatCallIsRefusedAfterInvokeReturned() throws {
        let sink = try #require(try run(.chatCompletions, baseURL: "http://127.0.0.1:9"))
        #expect(!sink.reportedInsideInvoke)
        #expect(sink.events == ["head 400", "body", "ended completed"])
    }
}
