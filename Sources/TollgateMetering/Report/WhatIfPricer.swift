// SPDX-License-Identifier: Apache-2.0
// `report --what-if` (SPEC §1): what the period's logged traffic would have cost on a target.
// Pure: traffic, target and period in, an estimate out; integers throughout (micro-dollars,
// milliseconds) through Core's CostModel, so a figure can be checked by hand to the micro-dollar.
//
// - per_second: each request billed on its own — its GPU time rounded up to the target's
//   `round_up`, at least its `minimum` — plus, when the target has a `cold_start`, that time for
//   every request that arrives while nothing else is running (a scale-to-zero worker idles out
//   within seconds: RunPod's default idle timeout is 5 s, serverless/pricing.mdx).
// - per_request: count × price.
// - always_on: the whole period × hourly price × instances, where instances cover the logged
//   peak concurrency at `max_concurrency` each: paid while up, used or not.
// - always_on with `sleep_after`: billed only while awake, i.e. for the union of
//   [request start, request end + sleep_after] clipped to the period, plus `cold_start` for
//   every wake (each interval of that union starts with one). The naive "GPU time × hourly
//   price" misses both the tail after each request and the wake-ups: 50 requests of 30 s spread
//   over a day on a 15-minute timer keep a Space awake for hours, not 25 minutes.
import TollgateCore

public enum WhatIfPricer {
    public static func estimate(_ traffic: WhatIfTraffic, on target: WhatIfTarget,
                                over period: ReportPeriod) -> WhatIfEstimate {
        switch target.cost {
        case .free:
            return WhatIfEstimate(target: target, cost: .zero, billedMs: 0, basis: "no price configured")
        case .perRequest(let price):
            let count = Int64(traffic.count)
            let (product, overflow) = price.value.multipliedReportingOverflow(by: count)
            return WhatIfEstimate(target: target, cost: MicroDollars(overflow ? .max : product), billedMs: 0,
                                  basis: "\(count) \(plural(count, "request")) × $\(dollars(price))")
        case .perSecond(let price, let roundUpMs, let minimum):
            return perSecond(traffic, target: target, price: price, roundUpMs: roundUpMs, minimum: minimum)
        case .alwaysOn(let perHour):
            return alwaysOn(traffic, target: target, perHour: perHour, period: period)
        }
    }

    private static func perSecond(_ traffic: WhatIfTraffic, target: WhatIfTarget, price: MicroDollars,
                                  roundUpMs: Int64?, minimum: MicroDollars?) -> WhatIfEstimate {
        var cost = MicroDollars.zero
        var billed = MilliGPUSeconds.zero
        for span in traffic.spans {
            billed += target.cost.billedTime(span.gpu)
            cost += target.cost.cost(of: span.gpu)
        }
        var wakes = 0
        if target.coldStartMs > 0 {
            wakes = coldStarts(traffic.spans)
            // A cold start is worker time like any other: rounded as the target rounds, but not
            // a request of its own, so no minimum.
            let coldBilled = target.cost.billedTime(MilliGPUSeconds(target.coldStartMs))
            let perWake = CostModel.perSecond(perSecond: price).cost(of: coldBilled)
            let (coldCost, overflow) = perWake.value.multipliedReportingOverflow(by: Int64(wakes))
            cost += MicroDollars(overflow ? .max : coldCost)
            billed += MilliGPUSeconds(saturatingProduct(coldBilled.value, Int64(wakes)))
        }
        var basis = "\(traffic.count) \(plural(Int64(traffic.count), "request")), \(seconds(traffic.totalGPU.value)) GPU-s"
        var rules: [String] = []
        if let roundUpMs { rules.append("each rounded up to \(seconds(roundUpMs)) s") }
        if let minimum { rules.append("at least $\(dollars(minimum)) each") }
        if !rules.isEmpty { basis += " (\(rules.joined(separator: ", ")))" }
        if target.coldStartMs > 0 {
            basis += " + \(wakes) cold \(plural(Int64(wakes), "start")) × \(seconds(target.coldStartMs)) s"
        }
        basis += ", \(seconds(billed.value)) s billed at $\(dollars(price))/s"
        return WhatIfEstimate(target: target, cost: cost, billedMs: billed.value, wakes: wakes, basis: basis)
    }

    private static func alwaysOn(_ traffic: WhatIfTraffic, target: WhatIfTarget, perHour: MicroDollars,
                                 period: ReportPeriod) -> WhatIfEstimate {
        // ceil(peak / per instance), at least one: the platform is paid for while up.
        let instances = max(1, (traffic.peakConcurrency + target.maxConcurrency - 1) / target.maxConcurrency)
        let instanceText = instances == 1 ? "1 instance"
            : "\(instances) instances (peak \(traffic.peakConcurrency) in flight, \(target.maxConcurrency) per instance)"
        guard let sleepAfterMs = target.sleepAfterMs else {
            let billed = saturatingProduct(period.milliseconds, Int64(instances))
            return WhatIfEstimate(target: target, cost: target.cost.uptimeCost(milliseconds: billed), billedMs: billed,
                                  instances: instances,
                                  basis: "\(hours(period.milliseconds)) h × \(instanceText) at $\(dollars(perHour))/h")
        }
        let (awakeMs, wakes) = awake(traffic.spans, sleepAfterMs: sleepAfterMs, period: period)
        let wakeMs = saturatingProduct(target.coldStartMs, Int64(wakes))
        let (perInstance, overflow) = awakeMs.addingReportingOverflow(wakeMs)
        let billed = saturatingProduct(overflow ? .max : perInstance, Int64(instances))
        var basis = "\(hours(awakeMs)) h awake of \(hours(period.milliseconds)) h, \(wakes) \(plural(Int64(wakes), "wake"))"
        if target.coldStartMs > 0 { basis += " × \(seconds(target.coldStartMs)) s" }
        basis += " (GPU busy \(hours(traffic.totalGPU.value)) h)"
        if instances > 1 { basis += " × \(instanceText)" }
        basis += " at $\(dollars(perHour))/h"
        return WhatIfEstimate(target: target, cost: target.cost.uptimeCost(milliseconds: billed), billedMs: billed,
                              instances: instances, wakes: wakes, basis: basis)
    }

    /// The length of the union of [start, end + sleepAfter] clipped to the period, and how many
    /// separate intervals it has: each begins with a wake. The first one counts too: the log
    /// cannot say whether the instance was up when the period began, and a sleeping instance
    /// with traffic this sparse was most likely asleep, so the estimate errs towards what the
    /// platform would bill rather than below it.
    static func awake(_ spans: [WhatIfTraffic.Span], sleepAfterMs: Int64,
                      period: ReportPeriod) -> (milliseconds: Int64, wakes: Int) {
        var total: Int64 = 0
        var wakes = 0
        var current: (start: Int64, end: Int64)?
        // Spans are sorted by start, and adding the same tail to every end keeps that order.
        for span in spans {
            let (tail, overflow) = span.endMs.addingReportingOverflow(sleepAfterMs)
            let start = max(span.startMs, period.startMs)
            let end = min(overflow ? .max : tail, period.endMs)
            guard end > start else { continue }
            if let open = current, start <= open.end {
                // Still awake (or woken the very millisecond it would have slept): no new wake.
                current = (open.start, max(open.end, end))
            } else {
                if let open = current { total += open.end - open.start }
                current = (start, end)
                wakes += 1
            }
        }
        if let open = current { total += open.end - open.start }
        return (total, wakes)
    }

    /// Requests that start while no earlier request is still running: each finds a
    /// scale-to-zero worker cold. A request starting the millisecond another ends finds it warm.
    static func coldStarts(_ spans: [WhatIfTraffic.Span]) -> Int {
        var wakes = 0
        var busyUntil: Int64?
        for span in spans {
            if let until = busyUntil, span.startMs <= until {
                busyUntil = max(until, span.endMs)
            } else {
                wakes += 1
                busyUntil = span.endMs
            }
        }
        return wakes
    }

    private static func saturatingProduct(_ a: Int64, _ b: Int64) -> Int64 {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? .max : product
    }

    // MARK: - Text for the basis

    /// Tenths of an hour, rounded to the nearest: "13.2".
    static func hours(_ milliseconds: Int64) -> String {
        let tenths = milliseconds / 360_000 + (milliseconds % 360_000 >= 180_000 ? 1 : 0)
        return FixedPointText.format(tenths, places: 1)
    }

    /// Seconds with only the decimals needed: "60", "1.5", "0.001".
    static func seconds(_ milliseconds: Int64) -> String {
        FixedPointText.format(milliseconds, places: 3, trimmingZeros: true)
    }

    /// Dollars with at least two decimals and no trailing zeros beyond: "1.00", "0.00019".
    static func dollars(_ amount: MicroDollars) -> String {
        var text = FixedPointText.format(amount.value, places: 6, trimmingZeros: true)
        if let dot = text.firstIndex(of: ".") {
            let decimals = text.distance(from: dot, to: text.endIndex) - 1
            if decimals < 2 { text += String(repeating: "0", count: 2 - decimals) }
        } else {
            text += ".00"
        }
        return text
    }

    private static func plural(_ count: Int64, _ word: String) -> String {
        count == 1 ? word : word + "s"
    }
}
