// SPDX-License-Identifier: Apache-2.0
// Integers that stand for decimals (micro-dollars, milliseconds) written out exactly: no Double
// on the way, so 0.1 never prints as 0.1000000000000000055.

public enum FixedPointText {
    /// `value` / 10^`places` in decimal: `format(190, places: 6)` → "0.000190". With
    /// `trimmingZeros`, the shortest exact form instead: "0.00019", and "3" for a whole number.
    public static func format(_ value: Int64, places: Int, trimmingZeros: Bool = false) -> String {
        var scale: UInt64 = 1
        for _ in 0..<max(places, 0) { scale *= 10 }
        let sign = value < 0 ? "-" : ""
        let magnitude = value.magnitude
        let whole = String(magnitude / scale)
        guard places > 0 else { return sign + whole }
        let digits = String(magnitude % scale)
        var fraction = String(repeating: "0", count: places - digits.count) + digits
        if trimmingZeros {
            while fraction.last == "0" { fraction.removeLast() }
            if fraction.isEmpty { return sign + whole }
        }
        return sign + whole + "." + fraction
    }
}
