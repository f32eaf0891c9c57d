// SPDX-License-Identifier: Apache-2.0
// `report --what-if` against hand computations (SPEC §1). Every expected figure is worked out in
// the comment above it, in micro-dollars (µ$) and milliseconds, the units the pricer uses.
import Testing
import TollgateCore
@testable import TollgateMetering

struct WhatIfPricerTests {
    /// Any instant: 2026-11-01T00:00:00Z.
    static let t0: Int64 = 1_793_491_200_000
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000
    static let day = ReportPeriod(startMs: t0, endMs: t0 + 24 * hour)

    /// `count` requests of `runMs` each, one every `everyMs` from `firstMs`.
    static func requests(_ count: Int, every everyMs: Int64, from firstMs: Int64, running runMs: Int64) -> WhatIfTraffic {
        WhatIfTraffic(spans: (0..<Int64(count)).map { i in
            let start = firstMs + i * everyMs
            return .init(startMs: start, endMs: start + runMs, gpu: MilliGPUSeconds(runMs))
        })
    }

    /// The research's A10G Space price (hub-docs spaces-gpus.md, a10g-small): $1.00/h, with a
    /// 15-minute sleep time and a 60 s start-up per wake.
    static let a10gSleeping = WhatIfTarget(name: "hf-space-a10g-small-sleep15m", cost: .alwaysOn(perHour: MicroDollars(1_000_000)),
                                           maxConcurrency: 1, sleepAfterMs: 15 * minute, coldStartMs: minute)

    // MARK: - Issue 9's scenario: 50 image edits a day, 30 s each, A10G Space, 15-minute sleep

    @Test func spreadOverTheDayTheSpaceIsAwakeForHours() {
        // One request every 29 min from midnight: the last starts at 49 × 29 min = 23:41 and its
        // window ends at 23:41 + 30 s + 15 min = 23:56:30, inside the day (no clipping).
        // Each window is 30 s + 900 s = 930 s; starts are 1 740 s apart > 930 s, so no two
        // windows touch: 50 separate awake spells, 50 wakes.
        // awake  = 50 × 930 s   = 46 500 s (12.92 h)
        // wakes  = 50 × 60 s    =  3 000 s
        // billed = 49 500 s = 49 500 000 ms; × 1 000 000 µ$/h ÷ 3 600 000 ms/h = 13 750 000 µ$.
        let traffic = Self.requests(50, every: 29 * Self.minute, from: Self.t0, running: 30_000)
        let estimate = WhatIfPricer.estimate(traffic, on: Self.a10gSleeping, over: Self.day)
        #expect(estimate.cost == MicroDollars(13_750_000))
        #expect(estimate.billedMs == 49_500_000)
        #expect(estimate.wakes == 50)
        #expect(estimate.basis == "12.9 h awake of 24.0 h, 50 wakes × 60 s (GPU busy 0.4 h) at $1.00/h")
    }

    @Test func bunchedInOneHourTheSpaceWakesOnce() {
        // 50 requests 72 s apart (3 600 s / 50) from 10:00: every window (930 s) reaches past the
        // next start, so they merge into one spell from 10:00 to the last start + 930 s:
        // awake  = 49 × 72 s + 930 s = 3 528 + 930 = 4 458 s
        // wakes  = 1 × 60 s
        // billed = 4 518 s = 4 518 000 ms → 1 000 000 × 4 518 000 / 3 600 000 = 1 255 000 µ$.
        let traffic = Self.requests(50, every: 72_000, from: Self.t0 + 10 * Self.hour, running: 30_000)
        let estimate = WhatIfPricer.estimate(traffic, on: Self.a10gSleeping, over: Self.day)
        #expect(estimate.cost == MicroDollars(1_255_000))
        #expect(estimate.billedMs == 4_518_000)
        #expect(estimate.wakes == 1)
    }

    @Test func theNaiveEstimateIsGPUTimeOnly() {
        // What the analysis the issue quotes did: 50 × 30 s = 1 500 s = 25 min of GPU time at
        // the hourly price → 1 000 000 × 1 500 000 / 3 600 000 = 416 666.67 → 416 667 µ$ (rounded
        // up). The spread day above bills 13 750 000 µ$, 33× that (32.99997); a 30-day month
        // 30 × $13.75 = $412.50, not 30 × $0.42 = $12.50.
        let traffic = Self.requests(50, every: 29 * Self.minute, from: Self.t0, running: 30_000)
        #expect(traffic.totalGPU == MilliGPUSeconds(1_500_000))
        #expect(CostModel.alwaysOn(perHour: MicroDollars(1_000_000)).uptimeCost(milliseconds: traffic.totalGPU.value)
                == MicroDollars(416_667))
        let spread = WhatIfPricer.estimate(traffic, on: Self.a10gSleeping, over: Self.day)
        #expect(spread.cost.value > 32 * 416_667 && spread.cost.value < 33 * 416_667)
    }

    @Test func theIssuesAnalysisAtItsOwnPrice() {
        // Issue 9 quotes an analysis that priced "50 image edits a day, 30 s each, on an A10G
        // Space at $3.65/h with a 15-minute sleep" as 12.5 h a month ($45.63). The same month
        // (30 days, the edits spread one every 29 min as above):
        // naive  = 30 × 50 × 30 s = 45 000 s = 12.5 h → 3 650 000 × 45 000 000 / 3 600 000
        //        = 45 625 000 µ$ ($45.63 as the analysis rounds it);
        // billed = 30 × (50 × 930 s awake + 50 × 60 s wakes) = 30 × 49 500 s = 1 485 000 s
        //        → 3 650 000 × 1 485 000 000 / 3 600 000 = 1 505 625 000 µ$ ($1 505.63), 33×.
        let month = ReportPeriod(startMs: Self.t0, endMs: Self.t0 + 30 * 24 * Self.hour)
        let spans = (0..<Int64(30)).flatMap { day in
            Self.requests(50, every: 29 * Self.minute, from: Self.t0 + day * 24 * Self.hour, running: 30_000).spans
        }
        let space = WhatIfTarget(name: "a10g-at-3.65", cost: .alwaysOn(perHour: MicroDollars(3_650_000)),
                                 maxConcurrency: 1, sleepAfterMs: 15 * Self.minute, coldStartMs: Self.minute)
        let traffic = WhatIfTraffic(spans: spans)
        #expect(CostModel.alwaysOn(perHour: MicroDollars(3_650_000)).uptimeCost(milliseconds: traffic.totalGPU.value)
                == MicroDollars(45_625_000))
        let estimate = WhatIfPricer.estimate(traffic, on: space, over: month)
        #expect(estimate.billedMs == 1_485_000_000)
        #expect(estimate.wakes == 1_500)
        #expect(estimate.cost == MicroDollars(1_505_625_000))
    }

    @Test func theAwakeWindowIsClippedToThePeriod() {
        // Period 00:00–01:00; one 30 s request at 00:50, sleep 15 min: its window
        // [00:50, 01:05:30] is cut at 01:00 → 10 min awake + one 60 s wake = 660 000 ms
        // → 1 000 000 × 660 000 / 3 600 000 = 183 333.3 → 183 334 µ$.
        let period = ReportPeriod(startMs: Self.t0, endMs: Self.t0 + Self.hour)
        let traffic = Self.requests(1, every: 0, from: Self.t0 + 50 * Self.minute, running: 30_000)
        let estimate = WhatIfPricer.estimate(traffic, on: Self.a10gSleeping, over: period)
        #expect(estimate.billedMs == 660_000)
        #expect(estimate.cost == MicroDollars(183_334))
    }

    @Test func aRequestArrivingAsTheTimerRunsOutDoesNotWakeIt() {
        // Request 1 at 0 for 30 s: awake until 30 s + 900 s = 930 s. Request 2 starts exactly at
        // 930 s: the windows touch, one spell [0, 930 + 30 + 900 = 1 860 s], one wake.
        let spans: [WhatIfTraffic.Span] = [.init(startMs: 0, endMs: 30_000, gpu: MilliGPUSeconds(30_000)),
                                           .init(startMs: 930_000, endMs: 960_000, gpu: MilliGPUSeconds(30_000))]
        let (awake, wakes) = WhatIfPricer.awake(spans, sleepAfterMs: 900_000, period: ReportPeriod(startMs: 0, endMs: Self.hour))
        #expect(awake == 1_860_000)
        #expect(wakes == 1)
    }

    // MARK: - per_second: per-request rounding and minimum, cold starts

    @Test func perSecondRoundsEachRequestThenAppliesTheMinimum() {
        // RunPod 24 GB flex, $0.00019/s = 190 µ$/s, round_up 1 s, minimum $0.0005 = 500 µ$:
        //   1 200 ms → 2 000 ms → 190 × 2     =   380 µ$ → minimum   500 µ$
        //   3 001 ms → 4 000 ms → 190 × 4     =   760 µ$
        //  10 000 ms → 10 000 ms → 190 × 10   = 1 900 µ$
        // Σ = 500 + 760 + 1 900 = 3 160 µ$; billed 16 000 ms. (Exact seconds would be
        // 190 × 14.201 = 2 698.19 µ$: rounding and the minimum add 17 %.)
        let target = WhatIfTarget(name: "runpod", cost: .perSecond(perSecond: MicroDollars(190), roundUpMs: 1_000,
                                                                    minimum: MicroDollars(500)))
        let traffic = WhatIfTraffic(spans: [
            .init(startMs: 0, endMs: 1_200, gpu: MilliGPUSeconds(1_200)),
            .init(startMs: 60_000, endMs: 63_001, gpu: MilliGPUSeconds(3_001)),
            .init(startMs: 120_000, endMs: 130_000, gpu: MilliGPUSeconds(10_000)),
        ])
        let estimate = WhatIfPricer.estimate(traffic, on: target, over: Self.day)
        #expect(estimate.cost == MicroDollars(3_160))
        #expect(estimate.billedMs == 16_000)
        #expect(estimate.basis == "3 requests, 14.201 GPU-s (each rounded up to 1 s, at least $0.0005 each), 16 s billed at $0.00019/s")
    }

    @Test func perSecondColdStartsCountRequestsThatFindNothingRunning() {
        // Same price, no minimum, cold_start 5 s. A [0, 1.2 s] starts cold; B [1 s, 4.001 s]
        // starts while A runs (warm); C [100 s, 110 s] starts cold: 2 cold starts.
        // Requests: 2 000 + 4 000 + 10 000 ms → 380 + 760 + 1 900 = 3 040 µ$
        // Cold:     2 × 5 000 ms → 2 × 950 µ$ = 1 900 µ$;  total 4 940 µ$, billed 26 000 ms.
        let target = WhatIfTarget(name: "runpod", cost: .perSecond(perSecond: MicroDollars(190), roundUpMs: 1_000),
                                  coldStartMs: 5_000)
        let traffic = WhatIfTraffic(spans: [
            .init(startMs: 0, endMs: 1_200, gpu: MilliGPUSeconds(1_200)),
            .init(startMs: 1_000, endMs: 4_001, gpu: MilliGPUSeconds(3_001)),
            .init(startMs: 100_000, endMs: 110_000, gpu: MilliGPUSeconds(10_000)),
        ])
        let estimate = WhatIfPricer.estimate(traffic, on: target, over: Self.day)
        #expect(estimate.wakes == 2)
        #expect(estimate.cost == MicroDollars(4_940))
        #expect(estimate.billedMs == 26_000)
    }

    @Test func perSecondExactRoundsTheSumOfEachRequestUp() {
        // Modal L4, 222 µ$/s, exact: 1 ms → 0.222 µ$ → 1 µ$ (a platform never bills less than
        // used; CostModel rounds each request up). 3 such requests = 3 µ$, not ⌈0.666⌉ = 1.
        let target = WhatIfTarget(name: "modal-l4", cost: .perSecond(perSecond: MicroDollars(222)))
        let traffic = Self.requests(3, every: 1_000, from: 0, running: 1)
        #expect(WhatIfPricer.estimate(traffic, on: target, over: Self.day).cost == MicroDollars(3))
    }

    @Test func perRequestIsCountTimesPrice() {
        // 7 requests × $0.01 (10 000 µ$) = 70 000 µ$.
        let target = WhatIfTarget(name: "flat", cost: .perRequest(MicroDollars(10_000)))
        let estimate = WhatIfPricer.estimate(Self.requests(7, every: 1_000, from: 0, running: 500), on: target, over: Self.day)
        #expect(estimate.cost == MicroDollars(70_000))
        #expect(estimate.basis == "7 requests × $0.01")
    }

    // MARK: - always_on: the whole period, instances from peak concurrency

    @Test func alwaysOnBillsThePeriodUsedOrNot() {
        // T4 Space $0.40/h over 30 days = 720 h → 720 × 400 000 = 288 000 000 µ$, however
        // little ran: one request here.
        let target = WhatIfTarget(name: "hf-space-t4-small", cost: .alwaysOn(perHour: MicroDollars(400_000)), maxConcurrency: 1)
        let month = ReportPeriod(startMs: Self.t0, endMs: Self.t0 + 720 * Self.hour)
        let estimate = WhatIfPricer.estimate(Self.requests(1, every: 0, from: Self.t0, running: 1_000), on: target, over: month)
        #expect(estimate.cost == MicroDollars(288_000_000))
        #expect(estimate.instances == 1)
        #expect(estimate.basis == "720.0 h × 1 instance at $0.40/h")
    }

    @Test func peakConcurrencyBeyondMaxConcurrencyAddsInstances() {
        // 5 requests overlapping in [4 s, 10 s): peak 5; max_concurrency 2 → ⌈5 / 2⌉ = 3
        // instances. 10 h × 3 = 30 instance-hours × 400 000 µ$ = 12 000 000 µ$.
        let target = WhatIfTarget(name: "box", cost: .alwaysOn(perHour: MicroDollars(400_000)), maxConcurrency: 2)
        let traffic = WhatIfTraffic(spans: (0..<5).map { i in
            .init(startMs: Int64(i) * 1_000, endMs: 10_000, gpu: MilliGPUSeconds(10_000 - Int64(i) * 1_000))
        })
        #expect(traffic.peakConcurrency == 5)
        let estimate = WhatIfPricer.estimate(traffic, on: target, over: ReportPeriod(startMs: 0, endMs: 10 * Self.hour))
        #expect(estimate.instances == 3)
        #expect(estimate.cost == MicroDollars(12_000_000))
        #expect(estimate.basis == "10.0 h × 3 instances (peak 5 in flight, 2 per instance) at $0.40/h")
    }

    @Test func backToBackRequestsDoNotOverlap() {
        // [0, 10 s) then [10 s, 20 s): half-open intervals, one in flight at a time.
        let traffic = Self.requests(2, every: 10_000, from: 0, running: 10_000)
        #expect(traffic.peakConcurrency == 1)
        #expect(WhatIfTraffic(spans: []).peakConcurrency == 0)
    }

    @Test func noTrafficStillPaysForAnAlwaysOnInstanceButNotForASleepingOne() {
        let empty = WhatIfTraffic(spans: [])
        let alwaysOn = WhatIfTarget(name: "a", cost: .alwaysOn(perHour: MicroDollars(1_000_000)))
        #expect(WhatIfPricer.estimate(empty, on: alwaysOn, over: Self.day).cost == MicroDollars(24_000_000))
        #expect(WhatIfPricer.estimate(empty, on: Self.a10gSleeping, over: Self.day).cost == .zero)
    }

    @Test func absurdFiguresSaturateInsteadOfTrapping() {
        let traffic = WhatIfTraffic(spans: [.init(startMs: 0, endMs: .max, gpu: MilliGPUSeconds(.max))])
        let period = ReportPeriod(startMs: 0, endMs: .max)
        for target in [WhatIfTarget(name: "s", cost: .perSecond(perSecond: MicroDollars(.max), roundUpMs: 7), coldStartMs: .max),
                       WhatIfTarget(name: "r", cost: .perRequest(MicroDollars(.max))),
                       WhatIfTarget(name: "a", cost: .alwaysOn(perHour: MicroDollars(.max)), maxConcurrency: 1,
                                    sleepAfterMs: .max, coldStartMs: .max)] {
            #expect(WhatIfPricer.estimate(traffic, on: target, over: period).cost.value > 0)
        }
    }
}
