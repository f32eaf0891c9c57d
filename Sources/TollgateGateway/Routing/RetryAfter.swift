// SPDX-License-Identifier: Apache-2.0
// RFC 9110 §10.2.3 `Retry-After`: delay-seconds, or an HTTP-date (the IMF-fixdate of §5.6.7,
// the only form a sender may generate: `Sun, 06 Nov 1994 08:49:37 GMT`). A 429 that carries
// it cools its backend down until then (SPEC §3). Anything else is not understood, and the
// caller falls back to its own wait.
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
        guard let at = httpDate(text) else { return nil }
        return min(max(0, at - nowUnix), maxSeconds)
    }

    /// An IMF-fixdate as unix seconds.
    static func httpDate(_ text: String) -> Int64? {
        // "Sun, 06 Nov 1994 08:49:37 GMT"
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
              let day = Int(parts[1]), (1...31).contains(day),
              let month = months.firstIndex(of: String(parts[2])),
              parts[3].utf8.count == 4, let year = Int(parts[3]), year >= 1970, year <= 9999 else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        guard day <= CivilDate.days(inMonth: month + 1, of: Int64(year)) else { return nil }
        let days = CivilDate.daysSinceEpoch(year: Int64(year), month: month + 1, day: day)
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
