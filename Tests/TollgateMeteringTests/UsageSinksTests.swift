// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateCore
import TollgateMetering

private final class Collector: UsageSink {
    let name: String
    let log: (String, UsageRecord) -> Void
    init(_ name: String, _ log: @escaping (String, UsageRecord) -> Void) {
        self.name = name
        self.log = log
    }
    func record(_ record: UsageRecord) { log(name, record) }
}

struct UsageSinksTests {
    @Test func everySinkGetsEveryRecordInOrder() {
        var seen: [String] = []
        let sinks = UsageSinks([Collector("access") { seen.append("\($0):\($1.status)") },
                                Collector("sqlite") { seen.append("\($0):\($1.status)") }])
        var ids = RequestIDGenerator()
        for status in [200, 429] {
            var record = UsageRecord(id: ids.next(), clientRequestID: nil, timestamp: 0,
                                     method: "POST", path: "/v1/chat/completions", status: status, latencyMs: 1,
                                     bytesIn: 0, bytesOut: 0)
            record.gpu = MilliGPUSeconds(1_500)
            record.cost = MicroDollars(285)
            sinks.record(record)
        }
        #expect(seen == ["access:200", "sqlite:200", "access:429", "sqlite:429"])
    }
}
