// SPDX-License-Identifier: Apache-2.0
// The days a usage query covers, from SPEC §1's period values (`1h`, `24h`, `7d`, `30d`, or a
// date `YYYY-MM-DD`). The usage API reads the daily rollups (`usage_daily`, which are never
// pruned), so a period is a range of whole UTC days: a relative value names the day that
// instant falls on (`since=24h` starts at the beginning of yesterday), a date names itself,
// and both ends are included. The answer names the days it summed, so nothing is implied.
public import TollgateCore

public enum UsagePeriod {
    /// A value that is not a period; `reason` says what is accepted.
    public struct Invalid: Error, Equatable {
        public let reason: String
    }

    /// The UTC day `YYYY-MM-DD` of `value`, resolved against `nowSeconds` (unix seconds).
    /// Relative values are a positive whole number of hours (`h`) or days (`d`), at most
    /// ten years back.
    public static func day(of value: String, nowSeconds: Int64) -> Result<String, Invalid> {
        let accepted = "expected 1h, 24h, 7d, 30d (any whole number of h or d) or a date YYYY-MM-DD"
        let bytes = Array(value.utf8)
        if bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
           let year = number(bytes[0..<4]), let month = number(bytes[5..<7]), let day = number(bytes[8..<10]) {
            guard (1...12).contains(month), day >= 1, day <= daysIn(month: Int(month), year: year), year >= 1970 else {
                return .failure(Invalid(reason: "'\(value)' is not a calendar date"))
            }
            return .success(value)
        }
        guard let unit = bytes.last, unit == UInt8(ascii: "h") || unit == UInt8(ascii: "d"),
              bytes.count >= 2, bytes.count <= 7, let count = number(bytes[0..<(bytes.count - 1)]), count > 0 else {
            return .failure(Invalid(reason: "'\(value)' is not a period: \(accepted)"))
        }
        let seconds = count * (unit == UInt8(ascii: "h") ? 3_600 : 86_400)
        guard seconds <= 3_650 * 86_400 else {
            return .failure(Invalid(reason: "'\(value)' reaches back more than ten years"))
        }
        return .success(dayText(unixSeconds: nowSeconds - seconds))
    }

    /// `YYYY-MM-DD` of the UTC day `unixSeconds` falls on (the usage log's `day` column).
    public static func dayText(unixSeconds: Int64) -> String {
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let date = CivilDate(daysSinceEpoch: days)
        return "\(date.year)-\(two(date.month))-\(two(date.day))"
    }

    /// `YYYY-MM-01`: the first day of the UTC month `unixSeconds` falls in.
    public static func monthStart(unixSeconds: Int64) -> String {
        String(dayText(unixSeconds: unixSeconds).prefix(8)) + "01"
    }

    private static func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

    /// Decimal digits only (no sign, no spaces), as a number.
    private static func number(_ digits: ArraySlice<UInt8>) -> Int64? {
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func daysIn(month: Int, year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
