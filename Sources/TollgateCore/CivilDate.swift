// SPDX-License-Identifier: Apache-2.0
// Unix days → proleptic Gregorian dates, for HTTP's Date header, the access log's timestamps
// and the usage log's daily rollups (UTC throughout, so no time zone database is needed).

/// A UTC calendar date.
public struct CivilDate: Sendable, Hashable {
    public var year: Int64
    /// 1…12.
    public var month: Int
    /// 1…31.
    public var day: Int

    /// Days since 1970-01-01 → date: Howard Hinnant's `civil_from_days`
    /// (https://howardhinnant.github.io/date_algorithms.html), exact for every Int64 day count
    /// a clock can produce.
    public init(daysSinceEpoch z0: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = Int(doy - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = month <= 2 ? y + 1 : y
    }
}
