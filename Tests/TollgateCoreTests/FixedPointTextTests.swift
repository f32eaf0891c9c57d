// SPDX-License-Identifier: Apache-2.0
// FixedPointText writes its digits into a stack buffer; these pin its output to the former
// piecewise String formatting (kept here as the reference) over edge values.
import Testing
import TollgateCore

struct FixedPointTextTests {
    /// The former implementation, from Strings: the reference.
    private static func reference(_ value: Int64, places: Int, trimmingZeros: Bool) -> String {
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

    @Test func matchesTheReferenceOnEdgeValues() {
        let values: [Int64] = [0, 1, -1, 9, 10, 190, -5, 999, 1000, 1001, 1_500_000, 123_456_789, -987_654_321_000,
                               Int64.max, Int64.min, Int64.max - 1, Int64.min + 1, 10_000_000_000_000_000_00]
        for value in values {
            for places in [0, 1, 3, 6, 9, 18] {
                for trimming in [false, true] {
                    #expect(FixedPointText.format(value, places: places, trimmingZeros: trimming)
                            == Self.reference(value, places: places, trimmingZeros: trimming),
                            "\(value) places \(places) trimming \(trimming)")
                }
            }
        }
    }

    @Test func knownForms() {
        #expect(FixedPointText.format(190, places: 6) == "0.000190")
        #expect(FixedPointText.format(190, places: 6, trimmingZeros: true) == "0.00019")
        #expect(FixedPointText.format(3_000_000, places: 6, trimmingZeros: true) == "3")
        #expect(FixedPointText.format(-1_500, places: 3) == "-1.500")
        #expect(FixedPointText.format(Int64.min, places: 6) == "-9223372036854.775808")
    }
}
