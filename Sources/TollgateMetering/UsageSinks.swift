// SPDX-License-Identifier: Apache-2.0
// Every finished request goes to several sinks at once — the access log, the SQLite usage
// log, the metrics registry — in a fixed order (swift-log's MultiplexLogHandler does the same
// for log handlers). A sink never blocks the loop, so neither does the fan-out.

/// Hands each record to every sink, in order.
public final class UsageSinks: UsageSink {
    private let sinks: [any UsageSink]

    public init(_ sinks: [any UsageSink]) {
        self.sinks = sinks
    }

    public func record(_ record: UsageRecord) {
        for sink in sinks { sink.record(record) }
    }
}
