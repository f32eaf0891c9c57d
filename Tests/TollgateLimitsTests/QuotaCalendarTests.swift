// SPDX-License-Identifier: Apache-2.0
// Local days and months as instants, against Python's zoneinfo (ZoneTables.periods) and by
// name for the cases quotas must get right: 23 h and 25 h days, Lord Howe's 30-minute DST,
// month ends, the leap day, a day whose midnight does not exist (Havana), far past the table.
import Testing
import TollgateCore
import TollgateLimits

@Suite(.enabled(if: ZoneFiles.present))
struct QuotaCalendarTests {
    private func calendar(_ zone: String) throws -> QuotaCalendar { QuotaCalendar(zone: try ZoneFiles.rules(zone)) }

    @Test func periodsMatchPythonZoneinfo() throws {
        let table = ZoneFiles.table(ZoneTables.periods)
        var checked = 0
        for (zone, rows) in table {
            let calendar = try calendar(zone)
            for row in rows {
                let t = row[0]
                let day = calendar.day(containing: t)
                let month = calendar.month(containing: t)
                #expect(day.date == CivilDate(year: row[1], month: Int(row[2]), day: Int(row[3])), "\(zone) at \(t)")
                #expect(day.start == row[4] && day.end == row[5], "\(zone) day at \(t): \(day)")
                #expect(month.start == row[6] && month.end == row[7], "\(zone) month at \(t): \(month)")
                #expect(day.contains(t) && month.contains(t))
                checked += 1
            }
        }
        #expect(checked > 400)
    }

    @Test func daylightSavingDaysAreShortAndLong() throws {
        let berlin = try calendar("Europe/Berlin")
        #expect(berlin.day(containing: 1_774_785_600).seconds == 23 * 3_600)  // 2026-03-29T12:00Z
        #expect(berlin.day(containing: 1_792_929_600).seconds == 25 * 3_600)  // 2026-10-25T12:00Z
        #expect(berlin.day(containing: 1_774_742_400).start == 1_774_738_800) // 2026-03-29 00:00 CET = 03-28T23:00Z
        let newYork = try calendar("America/New_York")
        #expect(newYork.day(containing: 1_772_985_600).seconds == 23 * 3_600) // 2026-03-08T16:00Z
        #expect(newYork.day(containing: 1_793_545_200).seconds == 25 * 3_600) // 2026-11-01T15:00Z
        // Lord Howe: +10:30 standard, +11 in summer; the change days are 23.5 h and 24.5 h.
        let lordHowe = try calendar("Australia/Lord_Howe")
        #expect(lordHowe.day(containing: 1_775_352_600).seconds == 88_200)    // 2026-04-05 local
        #expect(lordHowe.day(containing: 1_791_075_600).seconds == 84_600)    // 2026-10-04 local
        #expect(lordHowe.day(containing: 1_775_352_600).date == CivilDate(year: 2026, month: 4, day: 5))
        // 2100, past the table: the footer's rule.
        #expect(berlin.day(containing: 4_109_918_400).seconds == 23 * 3_600)  // 2100-03-28T12:00Z
    }

    @Test func monthEndsAndTheLeapDay() throws {
        let berlin = try calendar("Europe/Berlin")
        // 2028-02-29T23:30Z is 2028-03-01 00:30 in Berlin: March, not February.
        let march = berlin.month(containing: 1_835_479_800)
        #expect(march.date == CivilDate(year: 2028, month: 3, day: 1))
        // February 2028 in Berlin: 29 days of 24 h.
        let february = berlin.month(containing: 1_835_308_800)     // 2028-02-28T00:00Z
        #expect(february.date == CivilDate(year: 2028, month: 2, day: 1))
        #expect(february.seconds == 29 * 86_400)
        #expect(berlin.day(containing: 1_835_481_600 - 3_600 - 1).date == CivilDate(year: 2028, month: 2, day: 29))
        // December runs into the next year; its end is January 1 local midnight.
        let december = berlin.month(containing: 1_798_675_200)              // 2026-12-31T00:00Z
        #expect(december.end == 1_798_758_000)                              // 2027-01-01 00:00 CET
        // March 2026 in Berlin loses an hour, October gains one.
        #expect(berlin.month(containing: 1_773_532_800).seconds == 31 * 86_400 - 3_600)
        #expect(berlin.month(containing: 1_792_022_400).seconds == 31 * 86_400 + 3_600)
        #expect(QuotaCalendar.utc.month(containing: 1_835_481_600).seconds == 31 * 86_400)
        #expect(QuotaCalendar.utc.month(containing: 1_835_481_599).seconds == 29 * 86_400)
    }

    /// Havana sets its clocks forward at midnight: 2026-03-08 starts at 01:00 local, the
    /// instant of the jump.
    @Test func aDayWhoseMidnightDoesNotExist() throws {
        let havana = try calendar("America/Havana")
        let day = havana.day(containing: 1_772_971_200)             // 2026-03-08T12:00Z
        #expect(day.date == CivilDate(year: 2026, month: 3, day: 8))
        #expect(day.start == 1_772_946_000)                                  // 05:00Z, 01:00 CDT
        #expect(day.seconds == 23 * 3_600)
        #expect(havana.date(at: day.start) == day.date)
        #expect(havana.date(at: day.start - 1) == CivilDate(year: 2026, month: 3, day: 7))
    }

    @Test func periodsTileTheTimeline() throws {
        for zone in ["Europe/Berlin", "Australia/Lord_Howe", "America/Havana", "Pacific/Apia"] {
            let calendar = try calendar(zone)
            // Every month of 2011 and 2012 (Apia skipped 2011-12-30 altogether).
            var t = calendar.month(containing: 1_295_049_600).start          // 2011-01-15
            var months = 0
            while calendar.month(containing: t).date < CivilDate(year: 2013, month: 1, day: 1)! {
                let day = calendar.day(containing: t)
                #expect(day.contains(t) && day.seconds > 0, "\(zone) at \(t)")
                #expect(calendar.day(containing: day.end).start == day.end)
                let month = calendar.month(containing: t)
                #expect(calendar.month(containing: month.end).start == month.end)
                t = month.end
                months += 1
            }
            #expect(months == 24)
        }
    }

    @Test func extremeInstantsDoNotTrap() throws {
        let berlin = try calendar("Europe/Berlin")
        for t in [Int64.min, Int64.min + 1, -1 << 50, -1, 0, 1 << 50, Int64.max - 1, Int64.max] {
            let day = berlin.day(containing: t)
            let month = berlin.month(containing: t)
            // Instants are clamped to ±1 million years (366-day years).
            let clamped = min(max(t, -31_622_400_000_000), 31_622_400_000_000)
            #expect(day.start < day.end && month.start < month.end && day.contains(clamped) && month.contains(clamped))
        }
    }
}
