// SPDX-License-Identifier: Apache-2.0
// A call an adapter turns down before anything is sent (a job platform asked for chat): it ends
// with `outcome` on the next pass of the loop, never inside `invoke` (BackendAdapter's
// contract), unless cancelled first. The backend never took the request, so the model fails
// over past it and nothing is charged.
public import TollgateIO

public final class RefusedCall: BackendInvocation, TimerHandler {
    private var sink: (any BackendSink)?
    private let outcome: BackendOutcome
    private var timer: TimerToken?
    private let loop: EventLoop

    public init(loop: EventLoop, outcome: BackendOutcome, sink: any BackendSink) {
        self.loop = loop
        self.outcome = outcome
        self.sink = sink
        // Zero delay: runs at the end of this loop iteration, after `invoke` has returned.
        timer = loop.schedule(self, at: loop.now)
    }

    public func timerFired(deadline: UInt64, now: UInt64) {
        timer = nil
        guard let sink else { return }
        self.sink = nil
        sink.backendEnded(BackendReport(outcome: outcome))
    }

    public func resumeReceiving() {}
    public func bodyReadable() {}

    public func cancel() {
        sink = nil
        if let timer { loop.cancel(timer) }
        timer = nil
    }
}
