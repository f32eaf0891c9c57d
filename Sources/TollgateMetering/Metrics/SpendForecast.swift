// SPDX-License-Identifier: Apache-2.0
// `tollgate_spend_forecast_usd{period="month"}`: what this UTC month will have cost by its end,
// on a clock the caller passes (tests: any instant, a leap February). The always-on hours left
// are certain (they are paid whether used or not); per-use spend is extrapolated at this
// month's rate so far. Integers throughout, as the ledgers are.

public import TollgateCore

public enum SpendForecast {
    /// billed to date + Σ always-on price × the month's hours left + per-use spend to date ×
    /// (time left / time elapsed).
    /// - Parameters:
    ///   - nowMs: unix milliseconds (clamped into `month`).
    ///   - billedToDate: what providers bill this month so far (per-use costs and uptime).
    ///   - perUseToDate: the per-use part of `billedToDate`.
    ///   - alwaysOnPerHour: the hourly price of each always-on backend configured now.
    public static func month(_ month: UTCMonth, nowMs: Int64, billedToDate: MicroDollars, perUseToDate: MicroDollars,
                             alwaysOnPerHour: [MicroDollars]) -> MicroDollars {
        let now = min(max(nowMs, month.startMs), month.endMs)
        let left = month.endMs - now
        let elapsed = now - month.startMs
        var total = billedToDate
        for perHour in alwaysOnPerHour {
            total += CostModel.alwaysOn(perHour: perHour).uptimeCost(milliseconds: left)
        }
        total += extrapolate(perUseToDate, elapsedMs: elapsed, leftMs: left)
        return total
    }

    /// `spent` × left / elapsed, rounded down; 0 before any time elapsed, saturating instead of
    /// trapping (a 128-bit product, divided only when the quotient fits).
    static func extrapolate(_ spent: MicroDollars, elapsedMs: Int64, leftMs: Int64) -> MicroDollars {
        guard spent.value > 0, elapsedMs > 0, leftMs > 0 else { return .zero }
        let product = UInt64(spent.value).multipliedFullWidth(by: UInt64(leftMs))
        let divisor = UInt64(elapsedMs)
        guard product.high < divisor else { return MicroDollars(.max) }
        let (quotient, _) = divisor.dividingFullWidth(product)
        return MicroDollars(Int64(clamping: quotient))
    }
}
