// SPDX-License-Identifier: Apache-2.0
// Idle pause and wake counters (issue 12): `tollgate_backend_pauses_total`, `_wakes_total` and
// `_idle_saved_usd_total` by backend — declared always, samples only for configured backends
// with an idle policy (present in `backendLifecycle`), in config order, escaped.
import Testing
import TollgateCore
import TollgateMetering

@Suite struct BackendLifecycleExpositionTests {
    private let plan = MetricsPlan(backends: [
        .init(name: "space\"1", costModel: .perSecond(perSecond: MicroDollars(100))),
        .init(name: "box", costModel: .alwaysOn(perHour: MicroDollars(1_000_000))),
        .init(name: "pod", costModel: .perSecond(perSecond: MicroDollars(200))),
    ])

    private func render(_ lifecycle: [String: MetricsExposition.BackendLifecycle]) -> String {
        var exposition = MetricsExposition(plan: plan, counts: MetricsSnapshot(), nowMs: 0)
        exposition.backendLifecycle = lifecycle
        return exposition.render()
    }

    private func lines(_ text: String, _ prefix: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
    }

    @Test func samplesForBackendsWithAnIdlePolicyInConfigOrder() {
        let text = render([
            "pod": .init(pauses: 1, wakes: 0, idleSaved: MicroDollars(190)),
            "space\"1": .init(pauses: 3, wakes: 2, idleSaved: MicroDollars(1_250_000)),
            "gone": .init(pauses: 9, wakes: 9, idleSaved: MicroDollars(9)),  // no longer configured
        ])
        #expect(text.contains("# TYPE tollgate_backend_pauses_total counter\n"))
        #expect(text.contains("# TYPE tollgate_backend_wakes_total counter\n"))
        #expect(text.contains("# TYPE tollgate_backend_idle_saved_usd_total counter\n"))
        #expect(lines(text, "tollgate_backend_pauses_total{") == [
            #"tollgate_backend_pauses_total{backend="space\"1"} 3"#,
            #"tollgate_backend_pauses_total{backend="pod"} 1"#,
        ])
        #expect(lines(text, "tollgate_backend_wakes_total{") == [
            #"tollgate_backend_wakes_total{backend="space\"1"} 2"#,
            #"tollgate_backend_wakes_total{backend="pod"} 0"#,
        ])
        #expect(lines(text, "tollgate_backend_idle_saved_usd_total{") == [
            #"tollgate_backend_idle_saved_usd_total{backend="space\"1"} 1.25"#,
            #"tollgate_backend_idle_saved_usd_total{backend="pod"} 0.00019"#,
        ])
    }

    @Test func familiesDeclaredWithoutSamplesWhenNoBackendIdles() {
        let text = render([:])
        #expect(text.contains("# TYPE tollgate_backend_pauses_total counter\n"))
        #expect(lines(text, "tollgate_backend_pauses_total").isEmpty)
        #expect(lines(text, "tollgate_backend_wakes_total").isEmpty)
        #expect(lines(text, "tollgate_backend_idle_saved_usd_total").isEmpty)
    }

    @Test func negativeAndOddFiguresNeverGoBelowZero() {
        let text = render(["box": .init(pauses: -1, wakes: -5, idleSaved: MicroDollars(-5))])
        #expect(lines(text, "tollgate_backend_pauses_total{") == [#"tollgate_backend_pauses_total{backend="box"} 0"#])
        #expect(lines(text, "tollgate_backend_wakes_total{") == [#"tollgate_backend_wakes_total{backend="box"} 0"#])
        #expect(lines(text, "tollgate_backend_idle_saved_usd_total{") == [#"tollgate_backend_idle_saved_usd_total{backend="box"} 0"#])
    }
}
