// SPDX-License-Identifier: Apache-2.0
// How a backend (or a what-if target) turns use into money: SPEC §3's `price`/`billing` pair as
// pure functions on integers. The meter prices each request with `cost(of:)` (what the request
// is attributed), the router compares `marginalCost(of:)` of expected runs (what one more
// request adds to the bill), `report --what-if` prices a period with `uptimeCost` as well.

public enum CostModel: Sendable, Equatable {
    /// Paid by the hour while up, used or not: one more request adds nothing to the bill, and
    /// each is attributed its GPU time's share of the hour.
    case alwaysOn(perHour: MicroDollars)
    /// Paid per GPU-second. `roundUpMs`: billed time is rounded up to a multiple of this (a
    /// platform that bills whole seconds); `minimum`: the least one request costs.
    case perSecond(perSecond: MicroDollars, roundUpMs: Int64? = nil, minimum: MicroDollars? = nil)
    /// A fixed price per request, whatever it ran.
    case perRequest(MicroDollars)
    /// No price configured.
    case free

    /// The GPU time a platform bills for `used`: rounded up to `roundUpMs` when set.
    public func billedTime(_ used: MilliGPUSeconds) -> MilliGPUSeconds {
        guard case .perSecond(_, let step?, _) = self, step > 0, used.value > 0 else { return used }
        let (steps, remainder) = used.value.quotientAndRemainder(dividingBy: step)
        let whole = remainder == 0 ? steps : steps + 1
        let (billed, overflow) = whole.multipliedReportingOverflow(by: step)
        return MilliGPUSeconds(overflow ? .max : billed)
    }

    /// What one request that used `gpu` time is attributed (the usage log's `cost_usd`, the
    /// quota ledgers, `tollgate_spend_usd_total`). `always_on` attributes its share of the
    /// hourly price, GPU-seconds × per-hour / 3600: the hours are paid anyway, and the sum of
    /// the shares against `uptimeCost` is what the idle time wasted (issue 9). A fraction of a
    /// micro-dollar is rounded up: a platform never bills less than the time used, and a quota
    /// that rounds down would let many tiny requests through for free.
    public func cost(of gpu: MilliGPUSeconds) -> MicroDollars {
        switch self {
        case .free:
            return .zero
        case .alwaysOn:
            return uptimeCost(milliseconds: gpu.value)
        case .perRequest(let price):
            return price
        case .perSecond(let price, _, let minimum):
            let billed = billedTime(gpu).value
            // price (µ$/s) × billed (ms) = thousandths of a micro-dollar.
            let (nano, overflow) = price.value.multipliedReportingOverflow(by: billed)
            let cost: Int64 = overflow ? .max : nano <= 0 ? 0 : (nano - 1) / 1_000 + 1
            return max(MicroDollars(cost), minimum ?? .zero)
        }
    }

    /// What running one more request of `gpu` time adds to the provider's bill, for the router
    /// (SPEC §4 "Cheapest"): nothing on an `always_on` backend — its hours are paid whether it
    /// runs or idles — and `cost(of:)` on the kinds paid per use. Valid below the backend's
    /// `max_concurrency`; a full always-on backend is skipped by the router, not priced.
    public func marginalCost(of gpu: MilliGPUSeconds) -> MicroDollars {
        if case .alwaysOn = self { return .zero }
        return cost(of: gpu)
    }

    /// The cost of keeping an always-on backend up for `milliseconds` (rounded up to the
    /// micro-dollar); zero for the kinds paid per use.
    public func uptimeCost(milliseconds: Int64) -> MicroDollars {
        guard case .alwaysOn(let perHour) = self, milliseconds > 0 else { return .zero }
        let (product, overflow) = perHour.value.multipliedReportingOverflow(by: milliseconds)
        if overflow { return MicroDollars(.max) }
        return product <= 0 ? .zero : MicroDollars((product - 1) / 3_600_000 + 1)
    }

    /// SPEC's billing name (`always_on`, `per_second`, `per_request`), nil when free.
    public var billingName: String? {
        switch self {
        case .alwaysOn: return "always_on"
        case .perSecond: return "per_second"
        case .perRequest: return "per_request"
        case .free: return nil
        }
    }
}
