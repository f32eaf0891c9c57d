// SPDX-License-Identifier: Apache-2.0
// GPU time as an integer count of milliseconds (SPEC §4: ledgers are integers). A millisecond
// is the finest unit any platform bills or reports (RunPod `executionTime` is in ms; Replicate's
// `predict_time` and Modal's per-second billing are coarser).

/// A duration of GPU use in thousandths of a second.
public struct MilliGPUSeconds: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }

    public static let zero = MilliGPUSeconds(0)

    /// Rounds a measured or reported figure in seconds to the nearest millisecond. Negative,
    /// NaN and absurd inputs (a backend's report is untrusted text) become zero or the cap of
    /// 100 years, never a trap.
    public init(seconds: Double) {
        guard seconds.isFinite, seconds > 0 else { self.value = 0; return }
        let cap = 100.0 * 365 * 86_400 * 1_000
        self.value = Int64(min((seconds * 1_000).rounded(), cap))
    }

    /// From nanoseconds of a monotonic clock, rounded up to the next whole millisecond: a
    /// platform bills whole units of what was used, and a call answered in 0.3 ms still used
    /// the backend (rounding to the nearest would bill it as nothing).
    public init(nanoseconds: UInt64) {
        let (whole, part) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000)
        self.value = Int64(clamping: part == 0 ? whole : whole + 1)
    }

    public var seconds: Double { Double(value) / 1_000 }

    /// `1235` → "1.235": seconds with three decimals, exact.
    public var secondsText: String { FixedPointText.format(value, places: 3) }

    public var description: String { secondsText + "s" }

    public static func < (a: MilliGPUSeconds, b: MilliGPUSeconds) -> Bool { a.value < b.value }

    public static func + (a: MilliGPUSeconds, b: MilliGPUSeconds) -> MilliGPUSeconds {
        let (sum, overflow) = a.value.addingReportingOverflow(b.value)
        return MilliGPUSeconds(overflow ? .max : sum)
    }

    public static func += (a: inout MilliGPUSeconds, b: MilliGPUSeconds) { a = a + b }
}
