// SPDX-License-Identifier: Apache-2.0
// kind: simulated — an in-process stand-in GPU for demos, tests and capacity planning: a
// latency distribution (mean ± jitter), a cold start after idle, a failure rate, and small but
// valid OpenAI-shaped answers (chat, streamed token by token too; completions; embeddings;
// image and diarization shapes for the routes that arrive next). Never the default in
// production examples.
import Glibc
import Synchronization
public import TollgateIO
import TollgateCore

public struct SimulatedBackendOptions: Sendable {
    public var name: String
    public var latencyMeanMs: Double
    public var latencyJitterMs: Double
    public var coldStartMs: Double
    /// Idle time after which the next call pays `coldStartMs`.
    public var coldAfterMs: Double
    public var failureRate: Double
    /// Gap between streamed tokens.
    public var streamIntervalMs: Double

    public init(name: String, latencyMeanMs: Double = 800, latencyJitterMs: Double = 200, coldStartMs: Double = 0,
                coldAfterMs: Double = 300_000, failureRate: Double = 0, streamIntervalMs: Double = 20) {
        self.name = name
        self.latencyMeanMs = latencyMeanMs
        self.latencyJitterMs = latencyJitterMs
        self.coldStartMs = coldStartMs
        self.coldAfterMs = coldAfterMs
        self.failureRate = failureRate
        self.streamIntervalMs = streamIntervalMs
    }
}

/// Warmth shared by every loop's adapter for one simulated backend: one GPU, one idle clock.
public final class SimulatedBackendState: Sendable {
    private let lastUsed = Atomic<UInt64>(0)
    private let seed = Atomic<UInt64>(0x5EED_0F_7011_6A7E)

    public init() {}

    /// Marks a call at `now`; returns whether the backend had gone cold.
    func touch(now: UInt64, coldAfterNs: UInt64) -> Bool {
        let previous = lastUsed.exchange(now, ordering: .relaxed)
        return previous == 0 || now &- previous >= coldAfterNs
    }

    func nextSeed() -> UInt64 { seed.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue }
}

public final class SimulatedBackend: BackendAdapter {
    public let options: SimulatedBackendOptions
    private let state: SimulatedBackendState
    private let loop: EventLoop

    public init(options: SimulatedBackendOptions, state: SimulatedBackendState, loop: EventLoop) {
        self.options = options
        self.state = state
        self.loop = loop
    }

    public var name: String { options.name }

    /// The warmth this adapter shares with the same backend's adapters on other loops.
    var sharedState: SimulatedBackendState { state }

    /// Reads the body as the server it stands in for would get it (its prompt size counts).
    public func bodyShaping(for call: BackendCall) -> BodyShaping {
        BodyShaping(renamesModel: true, requestsStreamUsage: false)
    }

    public func invoke(_ call: BackendCall, body: any RequestBodySource, sink: any BackendSink) -> any BackendInvocation {
        var random = SplitMix64(seed: state.nextSeed())
        let cold = options.coldStartMs > 0 && state.touch(now: loop.now, coldAfterNs: UInt64(options.coldAfterMs * 1e6))
        if options.coldStartMs <= 0 { _ = state.touch(now: loop.now, coldAfterNs: .max) }
        let latency = max(0, options.latencyMeanMs + options.latencyJitterMs * random.gaussian())
        let delayMs = latency + (cold ? options.coldStartMs : 0)
        let fails = options.failureRate > 0 && random.unit() < options.failureRate
        // A body the gateway holds whole is read at once; a larger one (an upload streamed
        // past the replay window) is read to its end and dropped, as a server would take it.
        let requestBody = body.bufferedBody()
        return SimulatedCall(loop: loop, call: call, sink: sink, delayMs: delayMs, fails: fails,
                             coldStartMs: cold ? options.coldStartMs : nil,
                             streamIntervalMs: options.streamIntervalMs, requestBody: requestBody ?? [],
                             streamedBody: requestBody == nil ? body : nil)
    }
}

/// One simulated call: waits out its latency on a loop timer, then answers.
final class SimulatedCall: BackendInvocation, TimerHandler {
    private let loop: EventLoop
    private let call: BackendCall
    private var sink: (any BackendSink)?
    private let fails: Bool
    /// The cold start this call pays, when it pays one (positive and finite: it is only set
    /// when `coldStartMs > 0`).
    private let coldStartMs: Double?
    private let streamIntervalNs: UInt64
    private let requestBody: [UInt8]
    /// A body still to be read (and dropped) before the answer, with its scratch buffer.
    private var streamedBody: (any RequestBodySource)?
    private var scratch: [UInt8] = []
    /// The latency has passed; the answer waits for the body's end.
    private var due = false
    private var pendingChunks: [[UInt8]] = []
    private var paused = false
    private var usage = TokenUsage()

    init(loop: EventLoop, call: BackendCall, sink: any BackendSink, delayMs: Double, fails: Bool, coldStartMs: Double?,
         streamIntervalMs: Double, requestBody: [UInt8], streamedBody: (any RequestBodySource)? = nil) {
        self.streamedBody = streamedBody
        self.loop = loop
        self.call = call
        self.sink = sink
        self.fails = fails
        self.coldStartMs = coldStartMs
        self.streamIntervalNs = UInt64(max(0, streamIntervalMs) * 1e6)
        self.requestBody = requestBody
        loop.schedule(self, at: loop.now + UInt64(delayMs * 1e6))
    }

    private var started = false

    func timerFired(deadline: UInt64, now: UInt64) {
        guard sink != nil else { return }
        if !started {
            due = true
            guard drainBody() else { return }  // bodyReadable() answers once it has ended
        }
        answer()
    }

    /// Reads the streamed body until it ends (true) or has nothing more for now (false).
    private func drainBody() -> Bool {
        guard let source = streamedBody else { return true }
        if scratch.isEmpty { scratch = [UInt8](repeating: 0, count: 64 << 10) }
        while true {
            let chunk = scratch.withUnsafeMutableBytes { source.readBody(into: $0) }
            switch chunk {
            case .bytes: continue
            case .end:
                streamedBody = nil
                scratch = []
                return true
            case .wouldBlock: return false
            case .abort:
                streamedBody = nil
                scratch = []
                end(.cancelled)
                return false
            }
        }
    }

    private func answer() {
        guard let sink else { return }
        if !started {
            started = true
            if fails {
                let body = Array(#"{"error":{"message":"simulated backend failure","type":"server_error","param":null,"code":"simulated_failure"}}"#.utf8)
                sink.backendHead(status: 503, headers: [("content-type", "application/json")], contentLength: body.count)
                _ = body.withUnsafeBytes { sink.backendBody($0) }
                end(.completed)
                return
            }
            let answer = SimulatedResponses.answer(for: call, requestBody: requestBody)
            usage = answer.usage
            sink.backendHead(status: 200, headers: [("content-type", answer.contentType)],
                             contentLength: call.stream ? nil : answer.chunks.reduce(0) { $0 + $1.count })
            pendingChunks = answer.chunks
        }
        sendNext()
    }

    /// Sends the next chunk; streams pace chunks by the stream interval.
    private func sendNext() {
        guard let sink, !paused else { return }
        while !pendingChunks.isEmpty {
            let chunk = pendingChunks.removeFirst()
            let more = chunk.withUnsafeBytes { sink.backendBody($0) }
            if self.sink == nil { return }
            if !more { paused = true; return }
            if call.stream && !pendingChunks.isEmpty && streamIntervalNs > 0 {
                loop.schedule(self, at: loop.now + streamIntervalNs)
                return
            }
        }
        end(.completed)
    }

    private func end(_ outcome: BackendOutcome) {
        guard let sink else { return }
        self.sink = nil
        // No GPU time of its own: the gateway times the attempt as it would a real server's,
        // and takes the reported cold start out of the run (priced only with bill_cold_start).
        sink.backendEnded(BackendReport(outcome: outcome, tokens: usage,
                                        coldStartTime: coldStartMs.map { .microseconds(Int64(min($0, 1e12) * 1_000)) }))
    }

    /// More of a streamed body: read on once the latency has passed (never before `invoke`
    /// returned: the timer comes first).
    func bodyReadable() {
        guard due, !started, sink != nil, streamedBody != nil else { return }
        if drainBody() { answer() }
    }

    func resumeReceiving() {
        guard paused else { return }
        paused = false
        sendNext()
    }

    func cancel() {
        sink = nil
        streamedBody = nil
        pendingChunks = []
    }
}

extension SplitMix64 {
    /// Standard normal (Box–Muller), clipped to ±3σ so a rare draw cannot stall a demo.
    mutating func gaussian() -> Double {
        let u1 = max(unit(), 1e-12), u2 = unit()
        let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        return min(max(z, -3), 3)
    }
}
