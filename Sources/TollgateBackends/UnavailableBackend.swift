// SPDX-License-Identifier: Apache-2.0
// The adapter for a kind configured but not served by this version (runpod, modal, … until
// their issue lands): every call fails as a connect failure, so the request moves on to the
// model's next candidate. The failure is reported from the loop, never inside `invoke`.
public import TollgateIO
import TollgateCore

public final class UnavailableBackend: BackendAdapter {
    public let name: String
    public let reason: String
    private let loop: EventLoop

    public init(name: String, reason: String, loop: EventLoop) {
        self.name = name
        self.reason = reason
        self.loop = loop
    }

    /// Nothing is ever sent.
    public func bodyShaping(for call: BackendCall) -> BodyShaping { .none }

    public func invoke(_ call: BackendCall, body: any RequestBodySource, sink: any BackendSink) -> any BackendInvocation {
        UnavailableCall(loop: loop, reason: reason, sink: sink)
    }
}

/// One refused call: ends on the next pass of the loop unless cancelled first.
final class UnavailableCall: BackendInvocation, TimerHandler {
    private var sink: (any BackendSink)?
    private let reason: String
    private var timer: TimerToken?
    private let loop: EventLoop

    init(loop: EventLoop, reason: String, sink: any BackendSink) {
        self.loop = loop
        self.reason = reason
        self.sink = sink
        // Zero delay: runs at the end of this loop iteration, after `invoke` has returned.
        timer = loop.schedule(self, at: loop.now)
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        timer = nil
        guard let sink else { return }
        self.sink = nil
        sink.backendEnded(BackendReport(outcome: .connectFailed(reason)))
    }

    func resumeReceiving() {}
    func bodyReadable() {}

    func cancel() {
        sink = nil
        if let timer { loop.cancel(timer) }
        timer = nil
    }
}
