// SPDX-License-Identifier: Apache-2.0
// `tollgate_quota_remaining{user,limit}`: one sample per user and limit, sorted, escaped; none
// when `metrics.user_label` is false (the series is per user by its nature).
import Testing
import TollgateMetering

@Suite struct QuotaRemainingExpositionTests {
    private let rows = [
        MetricsExposition.QuotaRemaining(user: "bob", limit: "usd_per_month", value: "0.080000"),
        MetricsExposition.QuotaRemaining(user: "al\"ice", limit: "gpu_seconds_per_day", value: "12.500"),
    ]

    private func samples(userLabel: Bool) -> [String] {
        var exposition = MetricsExposition(plan: MetricsPlan(users: ["al\"ice", "bob"], userLabel: userLabel),
                                           counts: MetricsSnapshot(), nowMs: 0)
        exposition.quotaRemaining = rows
        return exposition.render().split(separator: "\n").map(String.init).filter { $0.hasPrefix("tollgate_quota_remaining{") }
    }

    @Test func oneSamplePerUserAndLimit() {
        #expect(samples(userLabel: true) == [
            #"tollgate_quota_remaining{user="al\"ice",limit="gpu_seconds_per_day"} 12.500"#,
            #"tollgate_quota_remaining{user="bob",limit="usd_per_month"} 0.080000"#,
        ])
    }

    @Test func noSamplesWithoutTheUserLabel() {
        #expect(samples(userLabel: false).isEmpty)
    }
}
