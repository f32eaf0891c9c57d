// SPDX-License-Identifier: Apache-2.0
// The facts of one proxied request that the meter needs, gathered while its attempts run and
// handed over as one value when the exchange ends: who asked for which model, which backend
// answered after how many attempts, the GPU time in integer milli-GPU-seconds and what it cost
// in integer micro-dollars on each attempt's own price (SPEC §5), tokens, cold start, and why
// it failed.
import TollgateBackends
import TollgateCore
import TollgateMetering

/// How one attempt's use is priced: its backend's cost model, and whether the platform bills
/// the reported queue/cold-start time too (`bill_cold_start`).
struct AttemptPricing {
    var costModel: CostModel
    var billsWaiting = false
}

struct ExchangeUsage {
    let user: String
    let keyID: String
    /// The model the body names (also one the gateway does not serve: the 404 is logged with it).
    var model: String?
    var task: ModelTask?
    /// The backend of the current (or last) attempt.
    private(set) var backend: String?
    private(set) var attempts = 0
    /// Measured upstream time of every attempt, its start to its end.
    private(set) var upstreamNs: UInt64 = 0
    /// GPU time: each attempt's as its backend reported it, else as measured.
    private(set) var gpu = MilliGPUSeconds.zero
    /// Each attempt priced with its backend's cost model.
    private(set) var cost = MicroDollars.zero
    var tokens = TokenUsage()
    var coldStart = false
    /// The time the last attempt's job waited in its platform's queue, as the backend reported
    /// it (SPEC §5 `queue_ms`; job platforms).
    var queueTime: Duration?
    /// The time the request waited in the gateway's own line for a slot (SPEC §4), in ns;
    /// `queue_ms` adds it to the platform's queue.
    var gatewayWait: UInt64 = 0
    /// Why the request did not end well (a code, or the redacted upstream text), nil if it did.
    var error: String?

    init(user: String, keyID: String) {
        self.user = user
        self.keyID = keyID
    }

    mutating func attemptStarted(on backend: String) {
        self.backend = backend
        attempts += 1
    }

    /// Adds one attempt that ran for `measuredNs` (its start to its report: transfer start →
    /// last byte). An attempt the backend never took (it could not be reached, or its TLS
    /// failed) used no GPU and costs nothing; its time still counts as upstream time.
    ///
    /// GPU time is the backend's own figure when it reports one; else the measured span less
    /// the time the backend says its call waited (`waited`: queue and cold start, which the
    /// span contains but the GPU did not run for — issue 9 keeps them apart). The cost prices
    /// the GPU time, plus `waited` when the backend's `bill_cold_start` says the platform bills
    /// the wait too (`billsWaiting`); the GPU-seconds figure stays the run alone.
    mutating func charge(measuredNs: UInt64, reportedGPU: MilliGPUSeconds?, waited: MilliGPUSeconds = .zero,
                         pricing: AttemptPricing, taken: Bool) {
        let (sum, overflow) = upstreamNs.addingReportingOverflow(measuredNs)
        upstreamNs = overflow ? .max : sum
        guard taken else { return }
        let run = reportedGPU ?? MilliGPUSeconds(max(MilliGPUSeconds(nanoseconds: measuredNs).value - waited.value, 0))
        gpu += run
        cost += pricing.costModel.cost(of: pricing.billsWaiting ? run + waited : run)
    }

    /// The time a backend's report says its call waited before running: its platform queue and
    /// its cold start (adapters report the two apart, never one inside the other).
    static func waited(_ report: BackendReport) -> MilliGPUSeconds {
        MilliGPUSeconds(nanoseconds: report.queueTime?.nanoseconds ?? 0) + MilliGPUSeconds(nanoseconds: report.coldStartTime?.nanoseconds ?? 0)
    }

    /// Writes the facts into the exchange's usage record. `mutating` only so that the exchange
    /// calls it in place: a non-mutating call on an object's stored value copies it out first.
    mutating func fill(_ record: inout UsageRecord) {
        record.user = user
        record.keyID = keyID
        record.model = model
        record.task = task?.rawValue
        record.backend = attempts > 0 ? backend : nil
        record.attempts = attempts
        record.upstreamSeconds = Double(upstreamNs) / 1e9
        record.gpu = gpu
        record.cost = cost
        record.coldStart = coldStart
        if queueTime != nil || gatewayWait > 0 {
            record.queueMs = (Double(queueTime?.nanoseconds ?? 0) + Double(gatewayWait)) / 1e6
        }
        record.promptTokens = tokens.promptTokens
        record.completionTokens = tokens.completionTokens
        record.error = error
    }
}
