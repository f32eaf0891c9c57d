// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateCore

struct PeriodBoundTests {
    @Test func spansAndDaysParse() throws {
        #expect(PeriodBound.parse("1h") == .ago(seconds: 3_600))
        #expect(PeriodBound.parse("30d") == .ago(seconds: 2_592_000))
        #expect(PeriodBound.parse("3650d") == .ago(seconds: 315_360_000))
        #expect(PeriodBound.parse("87600h") == .ago(seconds: 315_360_000))
        #expect(PeriodBound.parse("2024-02-29") == .day(try #require(CivilDate(year: 2024, month: 2, day: 29))))
        for bad in ["3651d", "87601h", "2100-02-29", "2024-13-01", "1969-12-31", "+1h", "-1h", "0h", "1w", "h",
                    "", " 1h", "1h ", "99999999d", "2024-2-29", "２０２４-02-29", "2024-02-29T00:00:00Z"] {
            #expect(PeriodBound.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func boundsResolveAgainstNow() throws {
        // 2026-03-15T12:00:00Z.
        let now: Int64 = 1_773_576_000
        #expect(PeriodBound.ago(seconds: 3_600).day(nowSeconds: now).text == "2026-03-15")
        #expect(PeriodBound.ago(seconds: 13 * 3_600).day(nowSeconds: now).text == "2026-03-14")
        #expect(PeriodBound.ago(seconds: 3_600).unixMilliseconds(nowMs: now * 1_000) == (now - 3_600) * 1_000)
        let day = try #require(CivilDate(text: "2026-03-01"))
        #expect(PeriodBound.day(day).unixMilliseconds(nowMs: 0) == 1_772_323_200_000)
        #expect(PeriodBound.day(day).day(nowSeconds: now) == day)
    }

    @Test func datesRoundTripTheirText() throws {
        for text in ["1970-01-01", "2024-02-29", "2026-11-30", "0001-01-01", "9999-12-31"] {
            let date = try #require(CivilDate(text: text))
            #expect(date.text == text)
            #expect(CivilDate(daysSinceEpoch: date.daysSinceEpoch) == date)
        }
        #expect(CivilDate(unixSeconds: -1).text == "1969-12-31")
        #expect(CivilDate.dateTimeText(unixSeconds: 1_773_576_005) == "2026-03-15T12:00:05")
        #expect(CivilDate.dateTimeText(unixSeconds: -1) == "1969-12-31T23:59:59")
        // Years no clock reaches give some date, never a trap.
        _ = CivilDate(daysSinceEpoch: .max)
        _ = CivilDate(daysSinceEpoch: .min)
        _ = CivilDate.daysSinceEpoch(year: .min, month: 1, day: 1)
        _ = CivilDate.daysSinceEpoch(year: .max, month: 12, day: 31)
    }
}
