// SPDX-License-Identifier: Apache-2.0
// Text → value for durations, sizes and money. Everything is parsed exactly from the decimal
// text (never through Double): "0.00019" must be 190 micro-dollars, not 189.99999….
import TollgateCore

/// Why a scalar is not a valid duration, size, amount or fixed-point number.
public enum ConfigValueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Empty text.
    case empty
    /// Not of the expected shape at all.
    case malformed
    /// A minus sign where only non-negative values make sense.
    case negative
    /// More decimal places than the value keeps (non-zero digits past `places`).
    case tooManyDecimals(places: Int)
    /// Does not fit the integer type.
    case overflow
    /// Finer than the unit kept (1 ms for durations, 1 byte for sizes).
    case tooPrecise
    /// Above the largest accepted value (durations: 365 days).
    case tooLarge

    public var description: String {
        switch self {
        case .empty: return "is empty"
        case .malformed: return "is malformed"
        case .negative: return "must not be negative"
        case .tooManyDecimals(let places): return "has more than \(places) decimal places"
        case .overflow: return "is too large"
        case .tooPrecise: return "is finer than the smallest unit"
        case .tooLarge: return "is too large"
        }
    }
}

/// Parsers for the scalar forms the config uses. Public so the CLI can reuse them (e.g. for
/// `report --since 24h`).
public enum ConfigValue {
    /// The longest duration accepted anywhere: a year. Keeps every conversion to nanoseconds
    /// in UInt64 range with room to add.
    public static let maximumDuration: Duration = .seconds(365 * 86_400)

    /// `500ms`, `30s`, `15m`, `24h`, `7d`; decimals allowed while the result is whole
    /// milliseconds (`1.5s`); a bare `0` is zero. One number and one unit: no `1h30m`.
    public static func duration(_ text: String) throws(ConfigValueError) -> Duration {
        if text == "0" { return .zero }
        let (number, unit) = splitUnit(text)
        let unitMilliseconds: Int64
        switch unit {
        case "ms": unitMilliseconds = 1
        case "s": unitMilliseconds = 1_000
        case "m": unitMilliseconds = 60_000
        case "h": unitMilliseconds = 3_600_000
        case "d": unitMilliseconds = 86_400_000
        default: throw text.isEmpty ? .empty : .malformed
        }
        guard !number.isEmpty else { throw .malformed }
        let thousandths: Int64
        do {
            thousandths = try fixedPoint(number, places: 3)
        } catch .overflow {
            throw .tooLarge
        }
        guard thousandths >= 0 else { throw .negative }
        let (scaled, overflow) = thousandths.multipliedReportingOverflow(by: unitMilliseconds)
        guard !overflow else { throw .tooLarge }
        guard scaled % 1_000 == 0 else { throw .tooPrecise }
        let milliseconds = scaled / 1_000
        guard milliseconds <= 365 * 86_400_000 else { throw .tooLarge }
        return .milliseconds(milliseconds)
    }

    /// `64KB`, `100MB`, `1GB`, `512B` or plain bytes; binary units (1 KB = 1024 bytes); the
    /// unit is case-insensitive and may be written `KiB`/`MiB`/`GiB`/`TiB` or nginx-style `k`/`m`/`g`.
    public static func byteSize(_ text: String) throws(ConfigValueError) -> Int {
        let (number, unit) = splitUnit(text)
        let multiplier: Int64
        switch unit.lowercased() {
        case "", "b": multiplier = 1
        case "k", "kb", "kib": multiplier = 1 << 10
        case "m", "mb", "mib": multiplier = 1 << 20
        case "g", "gb", "gib": multiplier = 1 << 30
        case "t", "tb", "tib": multiplier = 1 << 40
        default: throw .malformed
        }
        guard !number.isEmpty || unit.isEmpty else { throw .malformed }
        let thousandths = try fixedPoint(number, places: 3)
        guard thousandths >= 0 else { throw .negative }
        let (scaled, overflow) = thousandths.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw .overflow }
        guard scaled % 1_000 == 0 else { throw .tooPrecise }
        return Int(scaled / 1_000)
    }

    /// Dollars as integer micro-dollars: `0.00019` → 190, `25` → 25_000_000. More than six
    /// non-zero decimals is an error rather than a silent rounding. May be negative; callers
    /// decide whether that is allowed.
    public static func microDollars(_ text: String) throws(ConfigValueError) -> Int64 {
        try fixedPoint(text, places: 6)
    }

    /// A decimal number scaled by 10^places: `fixedPoint("1.5", places: 3)` = 1500. Accepts an
    /// optional `-`, digits, and an optional `.` followed by digits; no exponent, `+`, `_`
    /// or spaces. Zeros past `places` are accepted, other digits are `.tooManyDecimals`.
    public static func fixedPoint(_ text: String, places: Int) throws(ConfigValueError) -> Int64 {
        precondition(places >= 0 && places <= 18)
        var utf8 = Substring(text).utf8[...]
        guard !utf8.isEmpty else { throw .empty }
        var negative = false
        if utf8.first == UInt8(ascii: "-") {
            negative = true
            utf8 = utf8.dropFirst()
        }
        let integerDigits = utf8.prefix { isDigit($0) }
        var rest = utf8.dropFirst(integerDigits.count)
        guard !integerDigits.isEmpty else { throw .malformed }
        var fractionDigits = rest.prefix(0)
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst()
            fractionDigits = rest.prefix { isDigit($0) }
            rest = rest.dropFirst(fractionDigits.count)
            guard !fractionDigits.isEmpty else { throw .malformed }
        }
        guard rest.isEmpty else { throw .malformed }

        var value: Int64 = 0
        for digit in integerDigits {
            value = try accumulate(value, digit)
        }
        var kept = 0
        for digit in fractionDigits {
            if kept < places {
                value = try accumulate(value, digit)
                kept += 1
            } else if digit != UInt8(ascii: "0") {
                throw .tooManyDecimals(places: places)
            }
        }
        while kept < places {
            let (next, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow else { throw .overflow }
            value = next
            kept += 1
        }
        return negative ? -value : value
    }

    /// A whole number, optionally negative: `-3`, `42`. No `+`, `_`, hex or exponent.
    public static func integer(_ text: String) throws(ConfigValueError) -> Int {
        Int(try fixedPoint(text, places: 0))
    }

    /// `190` → `"0.00019"`: the shortest exact decimal for an amount of micro-dollars.
    public static func formatMicroDollars(_ micros: Int64) -> String {
        FixedPointText.format(micros, places: 6, trimmingZeros: true)
    }

    /// A duration in the largest unit that divides it: `30s`, `500ms`, `5m`; `0s` for zero.
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1_000 + attoseconds / 1_000_000_000_000_000
        if milliseconds == 0 { return "0s" }
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)]
        where milliseconds % size == 0 {
            return "\(milliseconds / size)\(unit)"
        }
        return "\(milliseconds)ms"
    }

    /// Splits `"30ms"` into `("30", "ms")`: the unit is the trailing run of letters.
    private static func splitUnit(_ text: String) -> (number: String, unit: String) {
        let scalars = text.unicodeScalars
        var split = scalars.endIndex
        while split > scalars.startIndex {
            let previous = scalars.index(before: split)
            guard scalars[previous].properties.isAlphabetic, scalars[previous].isASCII else { break }
            split = previous
        }
        return (String(scalars[..<split]), String(scalars[split...]))
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private static func accumulate(_ value: Int64, _ digit: UInt8) throws(ConfigValueError) -> Int64 {
        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times10.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
        guard !o1, !o2 else { throw .overflow }
        return sum
    }
}
