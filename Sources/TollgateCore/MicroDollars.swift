// SPDX-License-Identifier: Apache-2.0
// Money as integers (SPEC §3: "kept internally in integer micro-dollars"; SPEC §4: ledgers are
// integers). Binary floating point cannot hold 0.1 exactly, and a quota ledger that drifts by a
// rounding error per request either overshoots or refuses a request it should admit.

/// An amount of money in millionths of a US dollar.
public struct MicroDollars: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }

    public static let zero = MicroDollars(0)

    /// Dollars for the usage log and `/metrics` (SPEC §5's `cost_usd REAL`): exact to the
    /// micro-dollar for any amount below 2^53 µ$ (9 billion dollars).
    public var dollars: Double { Double(value) / 1_000_000 }

    /// `1.5` → "1.500000": six decimals, the precision the config accepts.
    public var description: String { FixedPointText.format(value, places: 6) }

    public static func < (a: MicroDollars, b: MicroDollars) -> Bool { a.value < b.value }

    /// Saturating: a ledger pinned at Int64.max is wrong by less than any trap would cost.
    public static func + (a: MicroDollars, b: MicroDollars) -> MicroDollars {
        let (sum, overflow) = a.value.addingReportingOverflow(b.value)
        return MicroDollars(overflow ? (b.value > 0 ? .max : .min) : sum)
    }

    public static func - (a: MicroDollars, b: MicroDollars) -> MicroDollars {
        let (difference, overflow) = a.value.subtractingReportingOverflow(b.value)
        return MicroDollars(overflow ? (b.value < 0 ? .max : .min) : difference)
    }

    public static func += (a: inout MicroDollars, b: MicroDollars) { a = a + b }
    public static func -= (a: inout MicroDollars, b: MicroDollars) { a = a - b }
}
