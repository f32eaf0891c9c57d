// SPDX-License-Identifier: Apache-2.0
// A loop's side of the usage log: records are appended to a per-loop array (no lock, no
// SQLite), and the array is handed to the writer once per loop iteration — one lock per
// iteration however many requests ended in it, as the access log does.
public import TollgateIO

public final class UsageWriterSink: UsageSink, LoopIterationObserver {
    private let writer: UsageWriter
    private var pending: [UsageRecord] = []

    public init(writer: UsageWriter) {
        self.writer = writer
        pending.reserveCapacity(64)
    }

    public func record(_ record: UsageRecord) {
        pending.append(record)
    }

    public func loopIterationEnded() {
        guard !pending.isEmpty else { return }
        writer.submit(&pending)
    }
}
