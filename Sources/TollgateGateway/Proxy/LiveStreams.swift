// SPDX-License-Identifier: Apache-2.0
// The SSE responses in flight on one loop, so the drain deadline can end each with the
// `event: error` SPEC §3 promises instead of the connection being cut mid-event. Entries are
// strong and leave when their exchange ends (ProxyExchange.exchangeEnded, which the responder
// calls for every exchange, as it meters each exactly once): a weak entry would give every
// streamed exchange a side table, and each of its retains and releases the slow path.
// Loop-confined.
import TollgateIO

final class LiveStreams: TimerHandler {
    private let loop: EventLoop
    private var streams: [ObjectIdentifier: ProxyExchange] = [:]
    private var deadline: TimerToken?
    /// The drain deadline has passed: a stream that starts now is ended at once.
    private var pastDeadline = false

    init(loop: EventLoop) {
        self.loop = loop
    }

    func add(_ stream: ProxyExchange) {
        streams[ObjectIdentifier(stream)] = stream
        // Ended from the loop, not from inside the response head being written.
        if pastDeadline && deadline == nil { deadline = loop.schedule(self, at: loop.now) }
    }

    func remove(_ stream: ProxyExchange) {
        streams.removeValue(forKey: ObjectIdentifier(stream))
    }

    /// At `at` (monotonic nanoseconds) every stream still running is ended.
    func endAll(at: UInt64) {
        if let deadline { loop.cancel(deadline) }
        deadline = loop.schedule(self, at: at)
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        self.deadline = nil
        pastDeadline = true
        let ending = Array(streams.values)
        streams.removeAll()
        for stream in ending { stream.endForShutdown() }
    }
}
