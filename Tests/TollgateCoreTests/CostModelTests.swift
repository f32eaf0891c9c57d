// SPDX-License-Identifier: Apache-2.0
// SPEC §3/§5 pricing on integers: exact per-second cost, round_up, minimum, per_request,
// always_on uptime, and inputs that would overflow or come from an untrusted report.
import Testing
import TollgateCore

struct CostModelTests {
    private let serverless = CostModel.perSecond(perSecond: MicroDollars(190))  // 0.00019 $/s

    @Test func perSecondIsExactToTheMicroDollarRoundedUp() {
        #expect(serverless.cost(of: MilliGPUSeconds(1_000)) == MicroDollars(190))
        #expect(serverless.cost(of: MilliGPUSeconds(2_500)) == MicroDollars(475))
        // 1 ms × 190 µ$/s = 0.19 µ$: a fraction is billed as one whole micro-dollar.
        #expect(serverless.cost(of: MilliGPUSeconds(1)) == MicroDollars(1))
        #expect(serverless.cost(of: .zero) == .zero)
    }

    @Test func roundUpBillsWholeStepsAndMinimumIsAFloor() {
        let model = CostModel.perSecond(perSecond: MicroDollars(190), roundUpMs: 1_000, minimum: MicroDollars(10_000))
        #expect(model.billedTime(MilliGPUSeconds(1_001)) == MilliGPUSeconds(2_000))
        #expect(model.billedTime(MilliGPUSeconds(3_000)) == MilliGPUSeconds(3_000))
        #expect(model.billedTime(.zero) == .zero)
        #expect(model.cost(of: MilliGPUSeconds(1_001)) == MicroDollars(10_000))  // 380 µ$ < minimum
        let noMinimum = CostModel.perSecond(perSecond: MicroDollars(190), roundUpMs: 1_000)
        #expect(noMinimum.cost(of: MilliGPUSeconds(1_001)) == MicroDollars(380))
    }

    @Test func perRequestIsItsPriceWhateverItRan() {
        #expect(CostModel.perRequest(MicroDollars(10_000)).cost(of: MilliGPUSeconds(99_000)) == MicroDollars(10_000))
        #expect(CostModel.perRequest(MicroDollars(10_000)).cost(of: .zero) == MicroDollars(10_000))
        #expect(CostModel.free.cost(of: MilliGPUSeconds(99_000)) == .zero)
    }

    /// Issue 9: an always-on request is attributed GPU-seconds × per-hour / 3600, rounded up
    /// to the micro-dollar; the router's marginal cost of it stays 0 (SPEC §4).
    @Test func alwaysOnAttributesItsShareOfTheHour() {
        let space = CostModel.alwaysOn(perHour: MicroDollars(800_000))  // $0.80/h
        // 99 s × 0.80 / 3600 = 0.022 $ exactly.
        #expect(space.cost(of: MilliGPUSeconds(99_000)) == MicroDollars(22_000))
        // 1.5 s → 333.33… µ$, billed 334.
        #expect(space.cost(of: MilliGPUSeconds(1_500)) == MicroDollars(334))
        // 1 ms → 0.222 µ$: never free for a call that ran.
        #expect(space.cost(of: MilliGPUSeconds(1)) == MicroDollars(1))
        #expect(space.cost(of: .zero) == .zero)
        // A whole hour of GPU time is the hourly price: attributed = billed when never idle.
        #expect(space.cost(of: MilliGPUSeconds(3_600_000)) == space.uptimeCost(milliseconds: 3_600_000))
        #expect(space.marginalCost(of: MilliGPUSeconds(99_000)) == .zero)
        #expect(CostModel.alwaysOn(perHour: MicroDollars(.max)).cost(of: MilliGPUSeconds(.max)) == MicroDollars(.max))
    }

    @Test func marginalCostOfPerUseKindsIsTheirCost() {
        #expect(serverless.marginalCost(of: MilliGPUSeconds(2_500)) == MicroDollars(475))
        #expect(CostModel.perRequest(MicroDollars(10_000)).marginalCost(of: .zero) == MicroDollars(10_000))
        #expect(CostModel.free.marginalCost(of: MilliGPUSeconds(1_000)) == .zero)
    }

    /// A minimum applies to a call that used no measurable time as well (a platform's floor),
    /// and round_up rounds before the price is applied.
    @Test func minimumAndRoundUpAtTheEdges() {
        let model = CostModel.perSecond(perSecond: MicroDollars(190), roundUpMs: 1_000, minimum: MicroDollars(10_000))
        #expect(model.cost(of: MilliGPUSeconds(60_000)) == MicroDollars(11_400))  // above the floor: exact
        #expect(model.cost(of: MilliGPUSeconds(59_001)) == MicroDollars(11_400))  // 60 whole seconds
        let exact = CostModel.perSecond(perSecond: MicroDollars(222))
        #expect(exact.cost(of: MilliGPUSeconds(1_234)) == MicroDollars(274))  // 273.948 → 274
        #expect(exact.cost(of: MilliGPUSeconds(5_000)) == MicroDollars(1_110))
    }

    @Test func alwaysOnUptimeIsHoursTimesPrice() {
        let space = CostModel.alwaysOn(perHour: MicroDollars(800_000))
        #expect(space.uptimeCost(milliseconds: 3_600_000) == MicroDollars(800_000))
        #expect(space.uptimeCost(milliseconds: 13 * 3_600_000) == MicroDollars(10_400_000))
        #expect(space.uptimeCost(milliseconds: 1) == MicroDollars(1))
        #expect(serverless.uptimeCost(milliseconds: 3_600_000) == .zero)
    }

    @Test func overflowSaturatesInsteadOfTrapping() {
        let huge = CostModel.perSecond(perSecond: MicroDollars(.max))
        #expect(huge.cost(of: MilliGPUSeconds(.max)) == MicroDollars(.max))
        let step = CostModel.perSecond(perSecond: MicroDollars(1), roundUpMs: .max - 1)
        #expect(step.billedTime(MilliGPUSeconds(.max)) == MilliGPUSeconds(.max))
        #expect(CostModel.alwaysOn(perHour: MicroDollars(.max)).uptimeCost(milliseconds: .max) == MicroDollars(.max))
        #expect(MicroDollars(.max) + MicroDollars(1) == MicroDollars(.max))
        #expect(MicroDollars(.min) - MicroDollars(1) == MicroDollars(.min))
    }

    @Test func untrustedSecondsBecomeMilliseconds() {
        #expect(MilliGPUSeconds(seconds: 1.2345) == MilliGPUSeconds(1_235))
        #expect(MilliGPUSeconds(seconds: -3) == .zero)
        #expect(MilliGPUSeconds(seconds: .nan) == .zero)
        #expect(MilliGPUSeconds(seconds: .infinity) == .zero)
        #expect(MilliGPUSeconds(seconds: 1e300).value == 100 * 365 * 86_400 * 1_000)
        // Measured time is billed up to the next whole millisecond (platforms round up, and a
        // sub-millisecond answer still used the backend): never 0 for a call that ran.
        #expect(MilliGPUSeconds(nanoseconds: 0) == .zero)
        #expect(MilliGPUSeconds(nanoseconds: 1) == MilliGPUSeconds(1))
        #expect(MilliGPUSeconds(nanoseconds: 1_000_000) == MilliGPUSeconds(1))
        #expect(MilliGPUSeconds(nanoseconds: 1_000_001) == MilliGPUSeconds(2))
        #expect(MilliGPUSeconds(nanoseconds: .max).value > 0)
    }

    @Test func dollarsPrintWithSixDecimals() {
        #expect(MicroDollars(1_500_000).description == "1.500000")
        #expect(MicroDollars(190).description == "0.000190")
        #expect(MicroDollars(-5).description == "-0.000005")
        #expect(MicroDollars(190).dollars == 0.00019)
    }
}
