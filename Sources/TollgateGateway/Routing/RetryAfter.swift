// SPDX-License-Identifier: Apache-2.0
// RFC 9110 §10.2.3 `Retry-After`: delay-seconds, or an HTTP-date (§5.6.7: the IMF-fixdate
// `Sun, 06 Nov 1994 08:49:37 GMT` senders generate, and the two obsolete forms recipients
// must still accept). A 429 that carries it cools its backend down until then (SPEC §3).
// Anything else is not understood, and the caller falls back to its own wait.
import TollgateCore

enum RetryAfter {
    /// A backend that asks for longer is still tried after a week.
    static let maxSeconds: Int64 = 7 * 86_400

    /// Seconds to wait from `nowUnix`, at least 0; nil when the value is neither form.
    static func seconds(_ value: String, nowUnix: Int64) -> Int64? {
        let text = value.trimmingSpaces
        // delay-seconds = 1*DIGIT: any run of digits is a delay, one too long for Int64 the
        // longest there is (capped like any other).
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            return min(Int64(text) ?? maxSeconds, maxSeconds)
        }
        guard let at = httpDate(text, nowUnix: nowUnix) else { return nil }
        return min(max(0, at - nowUnix), maxSeconds)
    }

    /// An HTTP-date as unix seconds: the IMF-fixdate, or one of the two obsolete forms a
    /// recipient MUST still accept (RFC 9110 §5.6.7): RFC 850 (`Sunday, 06-Nov-94 08:49:37
    /// GMT`, its two-digit year read against `nowUnix`) and asctime (`Sun Nov  6 08:49:37 1994`).
    static func httpDate(_ text: String, nowUnix: Int64 = 0) -> Int64? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        switch parts.count {
        case 6:
            // "Sun, 06 Nov 1994 08:49:37 GMT"
            guard parts[0].hasSuffix(","), parts[5] == "GMT", parts[1].utf8.count == 2, parts[3].utf8.count == 4,
                  let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])),
                  let year = Int(parts[3]) else { return nil }
            return unix(year: year, month: month + 1, day: day, clock: parts[4])
        case 4:
            // "Sunday, 06-Nov-94 08:49:37 GMT"
            let date = parts[1].split(separator: "-", omittingEmptySubsequences: false)
            guard parts[0].hasSuffix(","), parts[3] == "GMT", date.count == 3, date[0].utf8.count == 2,
                  date[2].utf8.count == 2, let day = Int(date[0]), let month = months.firstIndex(of: String(date[1])),
                  let yy = Int(date[2]), yy >= 0 else { return nil }
            // A year more than 50 years ahead is the most recent past one with those digits.
            let thisYear = Int(CivilDate(daysSinceEpoch: nowUnix >= 0 ? nowUnix / 86_400 : 0).year)
            var year = thisYear - thisYear % 100 + yy
            if year > thisYear + 50 { year -= 100 }
            return unix(year: year, month: month + 1, day: day, clock: parts[2])
        case 5:
            // "Sun Nov  6 08:49:37 1994"
            guard !parts[0].hasSuffix(","), let month = months.firstIndex(of: String(parts[1])),
                  (1...2).contains(parts[2].utf8.count), let day = Int(parts[2]), parts[4].utf8.count == 4,
                  let year = Int(parts[4]) else { return nil }
            return unix(year: year, month: month + 1, day: day, clock: parts[3])
        default:
            return nil
        }
    }

    /// The instant of a checked date and `hh:mm:ss`, nil when any field is out of range.
    private static func unix(year: Int, month: Int, day: Int, clock text: Substring) -> Int64? {
        let clock = text.split(separator: ":", omittingEmptySubsequences: false)
        guard year >= 1970, year <= 9999, day >= 1, day <= CivilDate.days(inMonth: month, of: Int64(year)),
              clock.count == 3, clock.allSatisfy({ $0.utf8.count == 2 }),
              let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        let days = CivilDate.daysSinceEpoch(year: Int64(year), month: month, day: day)
        return days * 86_400 + Int64(hour * 3_600 + minute * 60 + second)
    }

    /// The header's value as it may appear in a reason (bounded, printable).
    static func clip(_ value: String) -> String {
        String(value.unicodeScalars.prefix(64).filter { $0.value >= 0x20 && $0.value < 0x7F }.map(Character.init))
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}

private extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
