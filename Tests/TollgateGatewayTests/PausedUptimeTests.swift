// SPDX-License-Identifier: Apache-2.0
// A paused always-on backend is not billed (a paused Space, a stopped pod): what its pauses
// saved comes off `tollgate_backend_billed_usd_total` and the month's figure, never below 0.
import Testing
import TollgateCore
import TollgateIO
import TollgateMetering
@testable import TollgateGateway

struct PausedUptimeTests {
    private func billed(_ text: String, _ backend: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix("tollgate_backend_billed_usd_total{backend=\"\(backend)\"}") }
            .map { String($0.split(separator: " ").last ?? "") }
    }

    @Test func pausedTimeComesOffTheBilledUptime() throws {
        let group = try EventLoopGroup(count: 1)
        let hourMs: Int64 = 3_600_000
        let start: Int64 = 1_796_000_000_000
        let uptime = BackendUptimeLedger()
        uptime.begin([(name: "box", perHour: MicroDollars(400_000)), (name: "other", perHour: MicroDollars(400_000))],
                     atMs: start)
        let endpoint = MetricsEndpoint(contexts: PerLoop(group), loopCount: 1, seed: .empty, uptime: uptime,
                                       usageDropped: { 0 }, committed: { MetricsSnapshot() },
                                       wallClockMs: { start + hourMs })
        let plan = MetricsPlan(backends: [.init(name: "box", costModel: .alwaysOn(perHour: MicroDollars(400_000))),
                                          .init(name: "other", costModel: .alwaysOn(perHour: MicroDollars(400_000)))])
        let unpaused = endpoint.render(MetricsSnapshot(), plan: plan)
        #expect(billed(unpaused, "box") == "0.4")
        // A quarter of the hour paused: 0.10 saved.
        let paused = endpoint.render(MetricsSnapshot(), plan: plan, lifecycles: [
            "box": .init(pauses: 1, wakes: 1, idleSaved: MicroDollars(100_000)),
            "other": .init(pauses: 3, wakes: 2, idleSaved: MicroDollars(9_000_000)),
        ])
        #expect(billed(paused, "box") == "0.3")
        #expect(billed(paused, "other") == "0")
    }
}
