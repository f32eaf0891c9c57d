// SPDX-License-Identifier: Apache-2.0
// The SSE responses in flight on one loop, so the drain deadline can end each with the
// `event: error` SPEC §3 promises instead of the connection being cut mid-event. Entries are
// weak: a stream that ended without saying so is simply skipped. Loop-confined.
import TollgateIO

final class LiveStreams: TimerHandler {
    private struct Entry {
        weak var stream: ProxyExchange?
    }

    private let loop: EventLoop
    private var streams: [ObjectIdentifier: Entry] = [:]
    private var deadline: TimerToken?
    /// The drain deadline has passed: a stream that starts now is ended at once.
    private var pastDeadline = false

    init(loop: EventLoop) {
        self.loop = loop
    }

    func add(_ stream: ProxyExchange) {
        streams[ObjectIdentifier(stream)] = Entry(stream: stream)
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
        let ending = streams.values.compactMap(\.stream)
        streams.removeAll()
        for stream in ending { stream.endForShutdown() }
    }
}
