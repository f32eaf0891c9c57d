// SPDX-License-Identifier: Apache-2.0
// Integers that stand for decimals (micro-dollars, milliseconds) written out exactly: no Double
// on the way, so 0.1 never prints as 0.1000000000000000055.

public enum FixedPointText {
    /// `value` / 10^`places` in decimal: `format(190, places: 6)` → "0.000190". With
    /// `trimmingZeros`, the shortest exact form instead: "0.00019", and "3" for a whole number.
    /// `places` is taken within 0...18 (10^18 is the largest power of ten in a UInt64).
    ///
    /// Written right to left into a stack buffer and made a String once: every response with
    /// figures formats two of these, and a result of up to 15 bytes is a small String (no
    /// allocation), where building it from pieces allocated each piece.
    public static func format(_ value: Int64, places: Int, trimmingZeros: Bool = false) -> String {
        var digits = min(max(places, 0), 18)
        var scale: UInt64 = 1
        for _ in 0..<digits { scale &*= 10 }
        let magnitude = value.magnitude
        var whole = magnitude / scale
        var fraction = magnitude % scale
        if trimmingZeros {
            while digits > 0 && fraction % 10 == 0 {
                fraction /= 10
                digits -= 1
            }
        }
        // Sign, at most 20 whole digits, the point and at most 18 fraction digits.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { buffer in
            var start = buffer.count
            func put(_ byte: UInt8) {
                start -= 1
                buffer[start] = byte
            }
            if digits > 0 {
                for _ in 0..<digits {
                    put(0x30 &+ UInt8(truncatingIfNeeded: fraction % 10))
                    fraction /= 10
                }
                put(UInt8(ascii: "."))
            }
            repeat {
                put(0x30 &+ UInt8(truncatingIfNeeded: whole % 10))
                whole /= 10
            } while whole > 0
            if value < 0 { put(UInt8(ascii: "-")) }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[start...]), as: UTF8.self)
        }
    }
}
