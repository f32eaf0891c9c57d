// SPDX-License-Identifier: Apache-2.0
// RFC 9110 §10.2.3 `Retry-After` = HTTP-date / delay-seconds: seconds as given (capped at a
// week), an IMF-fixdate as the seconds until then from the test's clock (a past one is 0),
// anything else not understood (nil, the caller's own wait applies). Never a trap.
import Testing
@testable import TollgateGateway
import TollgateHTTP

struct RetryAfterTests {
    /// RFC 9110 §5.6.7's example, `Sun, 06 Nov 1994 08:49:37 GMT`, as unix seconds.
    private let example: Int64 = 784_111_777

    @Test func delaySecondsAreTakenAsGiven() {
        #expect(RetryAfter.seconds("120", nowUnix: 0) == 120)
        #expect(RetryAfter.seconds("0", nowUnix: 0) == 0)
        #expect(RetryAfter.seconds(" 5\t", nowUnix: 0) == 5)
        #expect(RetryAfter.seconds("007", nowUnix: 0) == 7)
    }

    @Test func hugeDelaysAreCappedAtAWeek() {
        #expect(RetryAfter.maxSeconds == 604_800)
        #expect(RetryAfter.seconds("604801", nowUnix: 0) == RetryAfter.maxSeconds)
        #expect(RetryAfter.seconds("999999999999", nowUnix: 0) == RetryAfter.maxSeconds)
        // delay-seconds is 1*DIGIT: a longer run of digits is still a (very long) delay,
        // not something unintelligible.
        #expect(RetryAfter.seconds("99999999999999999999999999", nowUnix: 0) == RetryAfter.maxSeconds)
    }

    @Test func anIMFFixdateIsTheTimeUntilThen() {
        #expect(RetryAfter.httpDate("Sun, 06 Nov 1994 08:49:37 GMT") == example)
        #expect(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:37 GMT", nowUnix: example - 90) == 90)
        #expect(RetryAfter.seconds("Thu, 01 Jan 1970 00:00:00 GMT", nowUnix: 0) == 0)
        // A leap day.
        #expect(RetryAfter.httpDate("Thu, 29 Feb 2024 00:00:00 GMT") == 1_709_164_800)
    }

    /// RFC 9110 §5.6.7: "A recipient that parses a timestamp value in an HTTP field MUST accept
    /// all three HTTP-date formats" — the obsolete RFC 850 and asctime forms too.
    @Test func theObsoleteDateFormsAreAcceptedToo() {
        #expect(RetryAfter.seconds("Sunday, 06-Nov-94 08:49:37 GMT", nowUnix: example - 90) == 90)
        #expect(RetryAfter.seconds("Sun Nov  6 08:49:37 1994", nowUnix: example - 90) == 90)
        #expect(RetryAfter.seconds("Thu Nov 10 08:49:37 1994", nowUnix: example) == 345_600)  // four days
        // A two-digit year more than 50 years ahead is the most recent past one (RFC 9110 §5.6.7).
        let y2030: Int64 = 1_893_456_000  // Tue, 01 Jan 2030 00:00:00 GMT
        #expect(RetryAfter.seconds("Tuesday, 01-Jan-30 00:00:10 GMT", nowUnix: y2030) == 10)
        #expect(RetryAfter.seconds("Friday, 01-Jan-99 00:00:00 GMT", nowUnix: y2030) == 0)  // 1999: past
        for value in ["Sunday, 06-Nov-1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37", "Sunday 06-Nov-94 08:49:37 GMT",
                      "Sunday, 31-Feb-94 08:49:37 GMT", "Sun Nov 6 08:49:37 94", "Sun Foo  6 08:49:37 1994",
                      "Sun Nov  6 25:49:37 1994", "Sun, Nov  6 08:49:37 1994"] {
            #expect(RetryAfter.seconds(value, nowUnix: example) == nil, "\(value)")
        }
    }

    /// What the gateway itself writes in a Date header is read back to the second.
    @Test func everyIMFFixdateTheGatewayWritesReadsBack() {
        var t: Int64 = 0
        while t < 4_102_444_800 {  // up to 2100, in uneven steps
            #expect(RetryAfter.httpDate(HTTPDate.format(unixSeconds: t)) == t)
            t += 86_400 * 37 + 3_607
        }
    }

    @Test func aDateInThePastIsNoWait() {
        #expect(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:37 GMT", nowUnix: example + 3_600) == 0)
    }

    @Test func aDateFarAheadIsCappedAtAWeek() {
        #expect(RetryAfter.seconds("Fri, 31 Dec 9999 23:59:59 GMT", nowUnix: example) == RetryAfter.maxSeconds)
    }

    @Test func garbageIsNotUnderstood() {
        for value in ["", " ", "soon", "-5", "+5", "1.5", "5s", "0x10", "١٢", "Sun, 06 Nov 1994 08:49:37 UTC",
                      "Sun, 06 Nov 1994 08:49:37", "Sun 06 Nov 1994 08:49:37 GMT", "Sun, 6 Foo 1994 08:49:37 GMT",
                      "Sun, 31 Feb 2025 08:49:37 GMT", "Sun, 30 Feb 2024 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                      "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 94 08:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
                      "Sun, 06 Nov 1969 08:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT", "Sun, 06 Nov 1994 a:b:c GMT",
                      "Sun, 06 Nov 1994 08:49:37 GMT extra"] {
            #expect(RetryAfter.seconds(value, nowUnix: example) == nil, "\(value)")
        }
    }

    @Test func theValueInAReasonIsBoundedAndPrintable() {
        #expect(RetryAfter.clip("30") == "30")
        #expect(RetryAfter.clip("3\r\n0\u{7F}\u{1B}[31m") == "30[31m")
        #expect(RetryAfter.clip(String(repeating: "9", count: 500)).count == 64)
        #expect(RetryAfter.clip("é30") == "30")
    }
}
