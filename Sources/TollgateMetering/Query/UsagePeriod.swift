// SPDX-License-Identifier: Apache-2.0
// The days a usage query covers, from SPEC §1's period values (`1h`, `24h`, `7d`, `30d`, or a
// date `YYYY-MM-DD`). The usage API reads the daily rollups (`usage_daily`, which are never
// pruned), so a period is a range of whole UTC days: a relative value names the day that
// instant falls on (`since=24h` starts at the beginning of yesterday), a date names itself,
// and both ends are included. The answer names the days it summed, so nothing is implied.
import TollgateCore

public enum UsagePeriod {
    /// A value that is not a period; `reason` says what is accepted.
    public struct Invalid: Error, Equatable {
        public let reason: String
    }

    /// The UTC day `YYYY-MM-DD` of `value` (SPEC §1's period values, PeriodBound), resolved
    /// against `nowSeconds` (unix seconds).
    public static func day(of value: String, nowSeconds: Int64) -> Result<String, Invalid> {
        guard let bound = PeriodBound.parse(value) else {
            return .failure(Invalid(reason: "'\(value)' is not \(PeriodBound.expected)"))
        }
        return .success(bound.day(nowSeconds: nowSeconds).text)
    }

    /// `YYYY-MM-DD` of the UTC day `unixSeconds` falls on (the usage log's `day` column).
    public static func dayText(unixSeconds: Int64) -> String {
        CivilDate(unixSeconds: unixSeconds).text
    }

    /// `YYYY-MM-01`: the first day of the UTC month `unixSeconds` falls in.
    public static func monthStart(unixSeconds: Int64) -> String {
        var date = CivilDate(unixSeconds: unixSeconds)
        date.day = 1
        return date.text
    }
}
