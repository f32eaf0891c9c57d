// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateMetering

struct RateLimitedExpositionTests {
    private static func series(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("tollgate_rate_limited_total{") }
    }

    @Test func refusalsAreCountedByUserAndLimit() {
        var exposition = MetricsExposition(plan: MetricsPlan(users: ["alice", "bob"]), counts: MetricsSnapshot(), nowMs: 0)
        exposition.rateLimited = [(user: "bob", limit: "concurrent", count: 2), (user: "alice", limit: "requests_per_minute", count: 3),
                                  (user: "alice", limit: "concurrent", count: 1), (user: "gone", limit: "concurrent", count: 4)]
        #expect(Self.series(exposition.render()) == [
            // A user no longer configured is counted under "" (the plan's bounded label set).
            #"tollgate_rate_limited_total{user="",limit="concurrent"} 4"#,
            #"tollgate_rate_limited_total{user="alice",limit="concurrent"} 1"#,
            #"tollgate_rate_limited_total{user="alice",limit="requests_per_minute"} 3"#,
            #"tollgate_rate_limited_total{user="bob",limit="concurrent"} 2"#,
        ])
    }

    @Test func withoutTheUserLabelTheUsersAddUp() {
        var exposition = MetricsExposition(plan: MetricsPlan(users: ["alice", "bob"], userLabel: false),
                                           counts: MetricsSnapshot(), nowMs: 0)
        exposition.rateLimited = [(user: "bob", limit: "concurrent", count: 2), (user: "alice", limit: "concurrent", count: 1)]
        #expect(Self.series(exposition.render()) == [#"tollgate_rate_limited_total{limit="concurrent"} 3"#])
    }
}
