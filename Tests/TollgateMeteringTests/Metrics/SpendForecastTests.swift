// SPDX-License-Identifier: Apache-2.0
// The month forecast on an injected clock, checked against hand arithmetic: month ends, a leap
// February, and the always-on hours left.
import Testing
import TollgateCore
import TollgateMetering

struct SpendForecastTests {
    static let hour: Int64 = 3_600_000
    static let day: Int64 = 86_400_000

    @Test func monthsHaveTheirCalendarLengthsInUTC() {
        #expect(UTCMonth(year: 2024, month: 2).endMs - UTCMonth(year: 2024, month: 2).startMs == 29 * Self.day)
        #expect(UTCMonth(year: 2023, month: 2).endMs - UTCMonth(year: 2023, month: 2).startMs == 28 * Self.day)
        #expect(UTCMonth(year: 2100, month: 2).endMs - UTCMonth(year: 2100, month: 2).startMs == 28 * Self.day)
        #expect(UTCMonth(year: 2000, month: 2).endMs - UTCMonth(year: 2000, month: 2).startMs == 29 * Self.day)
        #expect(UTCMonth(year: 2024, month: 4).endMs - UTCMonth(year: 2024, month: 4).startMs == 30 * Self.day)
        // 2024-02-01T00:00:00Z and 2024-03-01T00:00:00Z.
        #expect(UTCMonth(year: 2024, month: 2).startMs == 1_706_745_600_000)
        #expect(UTCMonth(year: 2024, month: 2).endMs == 1_709_251_200_000)
        #expect(UTCMonth(year: 1970, month: 1).startMs == 0)
        #expect(UTCMonth(year: 2024, month: 2).firstDayText == "2024-02-01")
        #expect(UTCMonth(year: 2024, month: 12).firstDayText == "2024-12-01")
    }

    @Test func theLastMillisecondBelongsToTheMonthAndTheNextOneToTheNext() {
        let december = UTCMonth(year: 2023, month: 12)
        #expect(UTCMonth(containing: december.endMs - 1) == december)
        let january = UTCMonth(containing: december.endMs)
        #expect(january.year == 2024 && january.month == 1)
        #expect(january.startMs == december.endMs)
        #expect(UTCMonth(containing: -1) == UTCMonth(year: 1969, month: 12))
    }

    /// 2024-02-15T00:00Z: 14 of February's 29 days gone, 15 left.
    @Test func perUseSpendIsExtrapolatedAtThisMonthsRateInALeapFebruary() {
        let february = UTCMonth(year: 2024, month: 2)
        let now = february.startMs + 14 * Self.day
        let forecast = SpendForecast.month(february, nowMs: now, billedToDate: MicroDollars(14_000_000),
                                           perUseToDate: MicroDollars(14_000_000), alwaysOnPerHour: [])
        #expect(forecast == MicroDollars(29_000_000))
    }

    @Test func alwaysOnBackendsAddTheirPriceForEveryHourLeft() {
        let february = UTCMonth(year: 2024, month: 2)
        let now = february.startMs + 14 * Self.day
        // $1/h and $0.40/h for 15 days = $360 + $144; $10 billed so far of which $2 per use
        // (→ $2 × 15/14, rounded down to the micro-dollar).
        let forecast = SpendForecast.month(february, nowMs: now, billedToDate: MicroDollars(10_000_000),
                                           perUseToDate: MicroDollars(2_000_000),
                                           alwaysOnPerHour: [MicroDollars(1_000_000), MicroDollars(400_000)])
        #expect(forecast == MicroDollars(10_000_000 + 360_000_000 + 144_000_000 + 2_142_857))
    }

    @Test func atTheMonthsStartAndEnd() {
        let march = UTCMonth(year: 2024, month: 3)
        // The first instant: nothing elapsed, nothing to extrapolate from; every hour is left.
        let start = SpendForecast.month(march, nowMs: march.startMs, billedToDate: .zero, perUseToDate: .zero,
                                        alwaysOnPerHour: [MicroDollars(1_000_000)])
        #expect(start == MicroDollars(31 * 24 * 1_000_000))
        // The last millisecond: what was billed, plus a millisecond of uptime (rounded up).
        let end = SpendForecast.month(march, nowMs: march.endMs - 1, billedToDate: MicroDollars(5),
                                      perUseToDate: MicroDollars(5), alwaysOnPerHour: [MicroDollars(1_000_000)])
        #expect(end == MicroDollars(5 + 1))
        // A clock outside the month is clamped into it.
        let after = SpendForecast.month(march, nowMs: march.endMs + Self.day, billedToDate: MicroDollars(9),
                                        perUseToDate: MicroDollars(9), alwaysOnPerHour: [MicroDollars(1_000_000)])
        #expect(after == MicroDollars(9))
    }

    @Test func hugeFiguresSaturateInsteadOfTrapping() {
        let january = UTCMonth(year: 2024, month: 1)
        let forecast = SpendForecast.month(january, nowMs: january.startMs + 1, billedToDate: MicroDollars(.max),
                                           perUseToDate: MicroDollars(.max), alwaysOnPerHour: [MicroDollars(.max)])
        #expect(forecast == MicroDollars(.max))
    }

    /// The exposition's forecast from its parts: uptime this month, per-use costs, the clock.
    @Test func theExpositionsForecastAndMonthGauges() {
        let plan = MetricsPlan(backends: [.init(name: "sim", costModel: .perSecond(perSecond: MicroDollars(1_000))),
                                          .init(name: "box", costModel: .alwaysOn(perHour: MicroDollars(1_000_000)),
                                                monthBudget: MicroDollars(50_000_000))],
                               models: ["m"], users: ["alice"], monthBudget: MicroDollars(200_000_000))
        let february = UTCMonth(year: 2024, month: 2)
        let now = february.startMs + 14 * Self.day
        var counts = MetricsSnapshot()
        counts.mergeMonth(february, ["sim": MicroDollars(1_400_000), "box": MicroDollars(30_000)])
        let exposition = MetricsExposition(plan: plan, counts: counts, uptimeTotal: ["box": MicroDollars(500_000_000)],
                                           uptimeMonth: ["box": MicroDollars(336_000_000)], nowMs: now)
        let figures = exposition.monthFigures(counts.relabeled(by: plan))
        #expect(figures.spend == MicroDollars(1_430_000))
        #expect(figures.billed == MicroDollars(337_400_000))
        #expect(figures.byBackend == ["sim": MicroDollars(1_400_000), "box": MicroDollars(336_000_000)])
        #expect(figures.forecast == MicroDollars(337_400_000 + 360_000_000 + 1_500_000))
        let text = exposition.render()
        #expect(text.contains("tollgate_spend_forecast_usd{period=\"month\"} 698.9\n"))
        #expect(text.contains("tollgate_billed_month_usd 337.4\n"))
        #expect(text.contains("tollgate_budget_month_usd 200\n"))
        #expect(text.contains("tollgate_backend_budget_month_usd{backend=\"box\"} 50\n"))
        #expect(!text.contains("tollgate_backend_budget_month_usd{backend=\"sim\"}"))
        #expect(text.contains("tollgate_backend_spend_month_usd{backend=\"box\"} 336\n"))
        // Always-on: billed is its uptime, idle included, whatever its requests were attributed.
        #expect(text.contains("tollgate_backend_billed_usd_total{backend=\"box\"} 500\n"))
    }

    @Test func withoutBudgetsTheirGaugesAreAbsent() {
        let plan = MetricsPlan(backends: [.init(name: "sim", costModel: .free)])
        let text = MetricsExposition(plan: plan, counts: MetricsSnapshot(), nowMs: 0).render()
        #expect(!text.contains("tollgate_budget_month_usd"))
        #expect(!text.contains("tollgate_backend_budget_month_usd"))
        #expect(text.contains("tollgate_backend_spend_month_usd{backend=\"sim\"} 0\n"))
    }
}
