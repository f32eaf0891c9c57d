// SPDX-License-Identifier: Apache-2.0
// A backend adapter that plays a script: the exchange's test peer. It implements
// BackendAdapter like the real kinds (reads the request body through RequestBodySource,
// reports through BackendSink from its loop), and can also misbehave on purpose: report inside
// `invoke`, or keep reporting after it was cancelled. Everything it sees and every answer the
// sink gave is logged for the test thread.
import Synchronization
import TollgateBackends
import TollgateIO
import TollgateUpstream
import TollgateCore

/// One step of a scripted call, run in order on the loop.
enum ScriptStep: Sendable {
    /// Reads the whole request body (waiting for `bodyReadable` when it would block).
    case readBody
    case head(Int, [(String, String)], contentLength: Int?)
    case body(String)
    case end(BackendOutcome, TokenUsage)
    /// Ends with this whole report (GPU, queue and cold-start times of a job platform).
    case report(BackendReport)
    /// Waits on a loop timer.
    case wait(ms: Int)
    /// Stops until cancelled (then goes on only after `ignoreCancel`).
    case waitForCancel
    /// From here on a cancel does not stop the script: a misbehaving adapter.
    case ignoreCancel
    /// Waits until the test opens the gate (checked every 2 ms on a loop timer).
    case hold(Gate)
}

/// A test-controlled point a script waits at (`.hold`): the test decides when a call ends.
final class Gate: Sendable {
    private let opened = Atomic<Bool>(false)
    var isOpen: Bool { opened.load(ordering: .acquiring) }
    func open() { opened.store(true, ordering: .releasing) }
}

/// What one call of a backend does.
struct Script: Sendable {
    var steps: [ScriptStep]
    /// Reports this end from inside `invoke`, before returning (against the adapter contract).
    var endsInsideInvoke: BackendOutcome?

    init(_ steps: [ScriptStep], endsInsideInvoke: BackendOutcome? = nil) {
        self.steps = steps
        self.endsInsideInvoke = endsInsideInvoke
    }
}

/// What the scripted backends saw, shared with the test thread.
final class ScriptLog: Sendable {
    struct Call: Sendable {
        var backend: String
        var model: String
        var upstreamModel: String
        var bodyLength: Int?
        /// The request body as this call read it.
        var body: [UInt8] = []
        var bodyEnded = false
        var cancels = 0
        /// The sink's answers to `backendBody` (false: pause, or not listened to).
        var bodyAnswers: [Bool] = []
        /// Calls the exchange made to the invocation after cancelling it.
        var callsAfterCancel = 0
        /// Sink calls the script made after it was cancelled.
        var reportsAfterCancel = 0
    }

    private let calls = Mutex<[Call]>([])

    var snapshot: [Call] { calls.withLock { $0 } }

    func add(_ call: Call) -> Int {
        calls.withLock {
            $0.append(call)
            return $0.count - 1
        }
    }

    func update(_ index: Int, _ body: (inout Call) -> Void) {
        calls.withLock { body(&$0[index]) }
    }
}

final class ScriptedBackend: BackendAdapter {
    let name: String
    private let loop: EventLoop
    private let scripts: [Script]
    private let log: ScriptLog
    private var invoked = 0
    /// Shapes bodies like an OpenAI-compatible server (usage requested on streamed chat) or like
    /// any other kind (the model renamed only).
    private let speaksOpenAI: Bool

    /// Each call plays the next script; the last one repeats.
    init(name: String, scripts: [Script], speaksOpenAI: Bool, loop: EventLoop, log: ScriptLog) {
        self.name = name
        self.speaksOpenAI = speaksOpenAI
        self.scripts = scripts
        self.loop = loop
        self.log = log
    }

    func bodyShaping(for call: BackendCall) -> BodyShaping {
        BodyShaping(renamesModel: true, requestsStreamUsage: speaksOpenAI && call.operation == .chatCompletions && call.stream)
    }

    func invoke(_ call: BackendCall, body: any RequestBodySource, sink: any BackendSink) -> any BackendInvocation {
        let script = scripts.isEmpty ? Script([]) : scripts[min(invoked, scripts.count - 1)]
        invoked += 1
        let index = log.add(ScriptLog.Call(backend: name, model: call.model, upstreamModel: call.upstreamModel,
                                           bodyLength: call.bodyLength))
        if let outcome = script.endsInsideInvoke {
            sink.backendEnded(BackendReport(outcome: outcome))
            return ScriptedCall(loop: loop, steps: [], body: nil, sink: nil, log: log, index: index)
        }
        return ScriptedCall(loop: loop, steps: script.steps, body: body, sink: sink, log: log, index: index)
    }
}

/// One call playing its script. Starts from a zero-delay timer: never inside `invoke`.
final class ScriptedCall: BackendInvocation, TimerHandler {
    private let loop: EventLoop
    private let steps: [ScriptStep]
    private var next = 0
    private var body: (any RequestBodySource)?
    private var sink: (any BackendSink)?
    private let log: ScriptLog
    private let index: Int
    private var cancelled = false
    private var honoursCancel = true
    private var waitingForBody = false
    private var waitingForCancel = false

    init(loop: EventLoop, steps: [ScriptStep], body: (any RequestBodySource)?, sink: (any BackendSink)?, log: ScriptLog,
         index: Int) {
        self.loop = loop
        self.steps = steps
        self.body = body
        self.sink = sink
        self.log = log
        self.index = index
        if !steps.isEmpty { loop.schedule(self, at: loop.now) }
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        run()
    }

    private func run() {
        while next < steps.count {
            if cancelled && honoursCancel { return }
            let step = steps[next]
            next += 1
            switch step {
            case .readBody:
                guard readAll() else {
                    next -= 1  // again once the body is readable
                    waitingForBody = true
                    return
                }
            case .head(let status, let headers, let length):
                report { $0.backendHead(status: status, headers: headers, contentLength: length) }
            case .body(let text):
                var answer = false
                report { sink in answer = Array(text.utf8).withUnsafeBytes { sink.backendBody($0) } }
                log.update(index) { $0.bodyAnswers.append(answer) }
            case .end(let outcome, let usage):
                report { $0.backendEnded(BackendReport(outcome: outcome, tokens: usage)) }
                sink = nil
            case .report(let final):
                report { $0.backendEnded(final) }
                sink = nil
            case .wait(let ms):
                loop.schedule(self, at: loop.now + UInt64(ms) * 1_000_000)
                return
            case .waitForCancel:
                if !cancelled {
                    waitingForCancel = true
                    return
                }
            case .ignoreCancel:
                honoursCancel = false
            case .hold(let gate):
                if !gate.isOpen {
                    next -= 1
                    loop.schedule(self, at: loop.now + 2_000_000)
                    return
                }
            }
        }
    }

    private func report(_ body: (any BackendSink) -> Void) {
        guard let sink else { return }
        if cancelled { log.update(index) { $0.reportsAfterCancel += 1 } }
        body(sink)
    }

    /// Reads what the body source has; true once it ended.
    private func readAll() -> Bool {
        guard let body else { return true }
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let result = chunk.withUnsafeMutableBytes { body.readBody(into: $0) }
            switch result {
            case .bytes(let n):
                let piece = Array(chunk[0..<n])
                log.update(index) { $0.body += piece }
            case .end:
                log.update(index) { $0.bodyEnded = true }
                return true
            case .wouldBlock:
                return false
            case .abort:
                return true
            }
        }
    }

    func bodyReadable() {
        if cancelled { log.update(index) { $0.callsAfterCancel += 1 } }
        guard waitingForBody else { return }
        waitingForBody = false
        run()
    }

    func resumeReceiving() {
        if cancelled { log.update(index) { $0.callsAfterCancel += 1 } }
    }

    func cancel() {
        if cancelled { log.update(index) { $0.callsAfterCancel += 1 } }
        cancelled = true
        log.update(index) { $0.cancels += 1 }
        if honoursCancel {
            sink = nil
            body = nil
            return
        }
        if waitingForCancel {
            waitingForCancel = false
            // Goes on from the loop, as a real adapter's late report would.
            loop.schedule(self, at: loop.now)
        }
    }
}
