// SPDX-License-Identifier: Apache-2.0
// `report --since/--until` values (SPEC §1): a span back from now (`1h`, `24h`, `7d`, `30d`) or a
// UTC calendar day (`2026-11-01`, its midnight). Checked while the command line is read, so a
// typo is a usage error (exit 64) before any database is opened.

/// A point in time as `report` accepts it on the command line.
public enum ReportTime: Sendable, Equatable {
    /// This many seconds before now.
    case ago(seconds: Int64)
    /// Midnight UTC at the start of this day (the month and day already checked).
    case day(year: Int, month: Int, day: Int)

    /// The longest span back: ten years is more than any retention, and small enough that no
    /// later multiplication into milliseconds can overflow.
    static let maximumDays: Int64 = 3_650

    /// What `parse` accepts, for the error message.
    public static let expected = "a span back from now such as 1h, 24h, 7d, 30d, or a UTC day YYYY-MM-DD"

    /// `<n>h`, `<n>d` (n ≥ 1, at most ten years), or `YYYY-MM-DD`; nil for anything else.
    public static func parse(_ text: String) -> ReportTime? {
        let bytes = Array(text.utf8)
        if bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") {
            guard let year = digits(bytes[0..<4]), let month = digits(bytes[5..<7]), let day = digits(bytes[8..<10]),
                  year >= 1970, (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
            else { return nil }
            return .day(year: year, month: month, day: day)
        }
        guard let unit = bytes.last, bytes.count >= 2, bytes.count <= 8,
              let count = digits(bytes.dropLast()), count >= 1 else { return nil }
        let seconds: Int64
        switch unit {
        case UInt8(ascii: "h"): seconds = Int64(count) * 3_600
        case UInt8(ascii: "d"): seconds = Int64(count) * 86_400
        default: return nil
        }
        guard seconds <= maximumDays * 86_400 else { return nil }
        return .ago(seconds: seconds)
    }

    /// Plain ASCII digits only (no sign, no spaces), at most 7 of them: no overflow.
    private static func digits(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 7 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
