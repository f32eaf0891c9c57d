// SPDX-License-Identifier: Apache-2.0
// Config durations (Swift's Duration) in the integer units the loops, timers and cost model use.

extension Duration {
    /// Whole nanoseconds (negative durations count as zero, absurd ones saturate).
    public var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (sum, carry) = whole.addingReportingOverflow(UInt64(max(attoseconds, 0) / 1_000_000_000))
        return carry ? .max : sum
    }

    public var milliseconds: Int { Int(clamping: nanoseconds / 1_000_000) }
}
