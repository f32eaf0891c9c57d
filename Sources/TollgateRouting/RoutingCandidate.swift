// SPDX-License-Identifier: Apache-2.0
public import TollgateCore
// One backend as the router sees it for one request: its price, its load, its expected run and
// cold start, and its health folded into `Availability`. A plain value built per decision into
// a reused buffer; its two derived figures (SPEC §4 "Cheapest") are pure and cannot trap.

public struct RoutingCandidate: Sendable, Equatable {
    public var costModel: CostModel
    public var maxConcurrency: Int
    public var inFlight: Int
    public var expectedRunMs: Int64
    public var coldStartMs: Int64
    /// Probability the next request meets a cold backend, 0...1 (out-of-range values are
    /// clamped; NaN counts as cold: an unknown state must not look free).
    public var pCold: Double
    public var availability: Availability
    /// Already attempted by this request (failover): never picked again.
    public var tried: Bool

    public init(costModel: CostModel, maxConcurrency: Int, inFlight: Int, expectedRunMs: Int64,
                coldStartMs: Int64, pCold: Double, availability: Availability = .ready, tried: Bool = false) {
        self.costModel = costModel
        self.maxConcurrency = maxConcurrency
        self.inFlight = inFlight
        self.expectedRunMs = expectedRunMs
        self.coldStartMs = coldStartMs
        self.pCold = pCold
        self.availability = availability
        self.tried = tried
    }

    /// SPEC §4: `always_on` (and free) → 0, its hours are paid anyway; `per_second` → the cost of
    /// run + P(cold) × cold start (whole ms, the platform's rounding and minimum applied);
    /// `per_request` → its price. A paused backend's wake is latency, not cost: the caller
    /// passes pCold = 1 for it when its wake is billed as a cold start.
    public var expectedCost: MicroDollars { expectedCost(billedMs: expectedBilledMs) }

    /// run + P(cold) × cold start (+ the wake when paused), ms, saturating.
    public var expectedLatencyMs: Int64 { expectedLatencyMs(billedMs: expectedBilledMs) }

    /// The two figures from `expectedBilledMs` worked out once (the router's pass).
    func expectedCost(billedMs: Int64) -> MicroDollars {
        costModel.marginalCost(of: MilliGPUSeconds(billedMs))
    }

    func expectedLatencyMs(billedMs: Int64) -> Int64 {
        guard case .paused(let wakeMs) = availability else { return billedMs }
        return Self.saturatingSum(billedMs, max(wakeMs, 0))
    }

    /// run + P(cold) × cold start, ms: what a per-second platform is expected to bill.
    var expectedBilledMs: Int64 {
        Self.saturatingSum(max(expectedRunMs, 0), coldShareMs)
    }

    /// P(cold) × cold start, rounded to the nearest ms; never more than the cold start.
    private var coldShareMs: Int64 {
        let cold = max(coldStartMs, 0)
        guard cold > 0 else { return 0 }
        let p = pCold.isNaN ? 1 : min(max(pCold, 0), 1)
        if p == 0 { return 0 }
        if p == 1 { return cold }
        // Exactly representable up to 2^53; above that the rounded product may be 2^63, which
        // Int64(exactly:) refuses rather than traps on.
        return Int64(exactly: (Double(cold) * p).rounded()) ?? cold
    }

    static func saturatingSum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }
}
