// SPDX-License-Identifier: Apache-2.0
public import TollgateCore

/// The days and months per-day and per-month quotas count in: local calendar periods of the
/// configured zone (`defaults.timezone`), as instants. Pure: the same answer for the same
/// instant, whatever the machine's TZ.
public struct QuotaCalendar: Sendable, Equatable {
    public let zone: ZoneRules

    public init(zone: ZoneRules) {
        self.zone = zone
    }

    public static let utc = QuotaCalendar(zone: .utc)

    /// The local date at `unixSeconds`.
    public func date(at unixSeconds: Int64) -> CivilDate {
        let t = ZoneRules.clamp(unixSeconds)
        return CivilDate(unixSeconds: t + zone.utcOffset(at: t))
    }

    /// The local day `unixSeconds` falls on: from its first instant to the next day's.
    public func day(containing unixSeconds: Int64) -> CalendarPeriod {
        let date = date(at: unixSeconds)
        let days = date.daysSinceEpoch
        return Self.around(unixSeconds, CalendarPeriod(date: date, start: start(ofLocalDay: days), end: start(ofLocalDay: days + 1)))
    }

    /// The local month `unixSeconds` falls in: from the first instant of its 1st to the next
    /// month's.
    public func month(containing unixSeconds: Int64) -> CalendarPeriod {
        let date = date(at: unixSeconds)
        let firstDay = CivilDate.daysSinceEpoch(year: date.year, month: date.month, day: 1)
        let nextFirstDay = firstDay + Int64(CivilDate.days(inMonth: date.month, of: date.year))
        return Self.around(unixSeconds, CalendarPeriod(date: CivilDate(daysSinceEpoch: firstDay), start: start(ofLocalDay: firstDay),
                                                       end: start(ofLocalDay: nextFirstDay)))
    }

    /// The period, stretched if need be to contain `t` (clamped). Real zones never need it:
    /// only a crafted file whose offsets change every few minutes can defeat `start(ofLocalDay:)`,
    /// and then callers still get `start <= t < end`, so a Retry-After is never negative.
    private static func around(_ unixSeconds: Int64, _ period: CalendarPeriod) -> CalendarPeriod {
        let t = ZoneRules.clamp(unixSeconds)
        return CalendarPeriod(date: period.date, start: min(period.start, t), end: max(period.end, t + 1))
    }

    /// The first instant whose local time is the local midnight starting day `days`. When
    /// midnight occurs twice (clocks set back across it), the first; when it does not occur
    /// (clocks set forward across it, as in America/Havana or Asia/Beirut), the instant the
    /// clocks jump, which is when the day's first local second happens.
    func start(ofLocalDay days: Int64) -> Int64 {
        let local = days * 86_400
        // The offsets in effect around it: every instant whose local time can be `local` is
        // `local - offset` for one of them (offsets change at most a few times a day).
        var offsets: [Int64] = []
        for probe in stride(from: local - 2 * 86_400, through: local + 2 * 86_400, by: 21_600) {
            let offset = zone.utcOffset(at: probe)
            if !offsets.contains(offset) { offsets.append(offset) }
        }
        var best: Int64?
        for offset in offsets {
            let candidate = local - offset
            if candidate + zone.utcOffset(at: candidate) == local, best.map({ candidate < $0 }) ?? true { best = candidate }
        }
        if let best { return best }
        // A gap: find the first instant whose local time is past midnight. Between
        // `local - max` (still before the jump) and `local - min` (after it) local time rises
        // through the gap once.
        var low = local - (offsets.max() ?? 0)
        var high = local - (offsets.min() ?? 0)
        while low < high {
            let mid = low + (high - low) / 2
            if mid + zone.utcOffset(at: mid) >= local { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
