// SPDX-License-Identifier: Apache-2.0
// The adapter contract the proxy relies on (issue 7 item 5): no adapter reports to its sink
// inside `invoke`, not even a call that fails at once; and a cancelled call reports nothing.
import Glibc
import Synchronization
import Testing
import TollgateTestSupport
@testable import TollgateBackends
import TollgateIO
import TollgateUpstream
import TollgateCore

/// Records what an adapter reported, and whether `invoke` had returned by then.
private final class ContractSink: BackendSink, RequestBodySource, @unchecked Sendable {
    /// Touched on the loop thread only; read by the test after `done` is set.
    var events: [String] = []
    var invoking = false
    var reportedInsideInvoke = false
    var report: BackendReport?
    let done = Flag()

    func backendHead(status: Int, headers: [(String, String)], contentLength: Int?) { note("head \(status)") }
    func backendBody(_ bytes: UnsafeRawBufferPointer) -> Bool { note("body"); return true }
    func backendEnded(_ report: BackendReport) {
        self.report = report
        note("ended \(report.outcome)")
        done.set()
    }
    func readBody(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk { .end }
    func bufferedBody() -> [UInt8]? { Array("{}".utf8) }

    private func note(_ event: String) {
        if invoking { reportedInsideInvoke = true }
        events.append(event)
    }
}

private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// Holds a loop-confined value across the `@Sendable` task boundary (used on the loop only).
private final class LoopBox<Value>: @unchecked Sendable {
    var value: Value?
}

/// Polls `flag` until it is set or `seconds` passed.
/// Sets its flag when its timer fires.
private final class Later: TimerHandler {
    let flag: Flag
    init(_ flag: Flag) { self.flag = flag }
    func timerFired(deadline: UInt64, now: UInt64) { flag.set() }
}

struct AdapterContractTests {
    private static let call = BackendCall(operation: .chatCompletions, model: "m", upstreamModel: "m", stream: false,
                                          bodyLength: 2, requestID: RequestID(prefix: 1, counter: 1))

    /// Runs `make` on a fresh loop, invokes the adapter it builds, and returns the sink once the
    /// call ended (or nil after 5 s).
    private func run(_ make: @escaping @Sendable (EventLoop) -> any BackendAdapter) throws -> ContractSink? {
        try withRunningLoop { loop in
            let sink = ContractSink()
            let keep = LoopBox<any BackendInvocation>()
            loop.execute {
                let adapter = make(loop)
                sink.invoking = true
                keep.value = adapter.invoke(Self.call, body: sink, sink: sink)
                sink.invoking = false
            }
            return eventually { sink.done.isSet } ? sink : nil
        }
    }

    /// A call an adapter refuses at once (RunPod runs jobs, not chat) still ends from the loop.
    @Test func aCallRefusedAtOnceFailsAfterInvokeReturned() throws {
        let sink = try #require(try run { Self.jobBackend(on: $0) })
        #expect(!sink.reportedInsideInvoke)
        #expect(sink.events.count == 1 && sink.events[0].hasPrefix("ended ") && sink.events[0].contains("a runpod backend runs jobs"), "\(sink.events)")
    }

    private static func jobBackend(on loop: EventLoop) -> RunPodBackend {
        RunPodBackend(options: RunPodBackendOptions(endpoint: BackendEndpoint(name: "rp", baseURL: "http://127.0.0.1:9", apiKey: "k")),
                      loop: BackendLoop(loop: loop, curlShare: CurlShare()))
    }

    @Test func aRefusedConnectionFailsAfterInvokeReturned() throws {
        // Port 9 (discard) on loopback: nothing listens, the connect is refused.
        let sink = try #require(try run { loop in
            OpenAIBackend(options: OpenAIBackendOptions(endpoint: BackendEndpoint(name: "dead", baseURL: "http://127.0.0.1:9", apiKey: nil)),
                          multi: CurlMulti(loop: loop, share: CurlShare()))
        })
        #expect(!sink.reportedInsideInvoke)
        #expect(sink.events.count == 1 && sink.events[0].hasPrefix("ended connect failed"))
    }

    @Test func aSimulatedBackendWithNoLatencyAnswersAfterInvokeReturned() throws {
        let sink = try #require(try run { loop in
            SimulatedBackend(options: SimulatedBackendOptions(name: "sim", latencyMeanMs: 0, latencyJitterMs: 0),
                             state: SimulatedBackendState(), loop: loop)
        })
        #expect(!sink.reportedInsideInvoke)
        #expect(sink.events.first == "head 200" && sink.events.last == "ended completed")
    }

    @Test func aSimulatedColdStartIsReportedWithItsLength() throws {
        let state = SimulatedBackendState()
        let options = SimulatedBackendOptions(name: "sim", latencyMeanMs: 0, latencyJitterMs: 0, coldStartMs: 5)
        let cold = try #require(try run { SimulatedBackend(options: options, state: state, loop: $0) })
        #expect(cold.report?.coldStart == true && cold.report?.coldStartTime == .milliseconds(5))
        #expect(cold.report?.tokens.completionTokens == 8 && cold.report?.gpuTime == nil)
        // Warm now: the next call pays nothing.
        let warm = try #require(try run { SimulatedBackend(options: options, state: state, loop: $0) })
        #expect(warm.report?.coldStart == false && warm.report?.coldStartTime == nil)
    }

    @Test func aCancelledRefusedCallReportsNothing() throws {
        try withRunningLoop { loop in
            let sink = ContractSink()
            let finished = Flag()
            loop.execute {
                let adapter = Self.jobBackend(on: loop)
                adapter.invoke(Self.call, body: sink, sink: sink).cancel()
                // A timer later than the refused call's zero-delay one: by then it would have ended.
                loop.schedule(Later(finished), at: loop.now + 20_000_000)
            }
            #expect(eventually { finished.isSet })
            #expect(sink.events.isEmpty)
        }
    }
}
