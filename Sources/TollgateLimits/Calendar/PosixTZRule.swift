// SPDX-License-Identifier: Apache-2.0
import TollgateCore

// The TZ string of a TZif footer (RFC 8536 §3.3, POSIX.1-2017 §8.3 "TZ", with the RFC's
// extensions: hours −167…167 in rule times, and a quoted `<+0330>` name): the rule a zone
// follows after its table ends, e.g. `CET-1CEST,M3.5.0,M10.5.0/3` or
// `<+1030>-10:30<+11>-11,M10.1.0,M4.1.0` (Lord Howe: a 30-minute DST).
struct PosixTZRule: Sendable, Equatable {
    /// Seconds east of UTC (POSIX writes them west: `CET-1` is UTC+1).
    let standardOffset: Int64
    let daylight: Daylight?

    struct Daylight: Sendable, Equatable {
        /// Seconds east of UTC in daylight saving time.
        let offset: Int64
        let start: Transition
        let end: Transition
    }

    /// When in the year a change happens, in local time of the period it ends.
    struct Transition: Sendable, Equatable {
        let date: DateRule
        /// Seconds after the local midnight starting `date` (−167 h … 167 h).
        let time: Int64
    }

    enum DateRule: Sendable, Equatable {
        /// `Jn`: day 1…365, February 29 never counted.
        case julian(Int64)
        /// `n`: day 0…365, February 29 counted in leap years.
        case zeroBased(Int64)
        /// `Mm.w.d`: day `d` (0 = Sunday) of week `w` (1…5, 5 = the last) of month `m`.
        case monthWeekDay(month: Int, week: Int64, weekday: Int64)
    }

    /// nil unless `text` is all one valid TZ string.
    init?(_ text: [UInt8]) {
        var scanner = Scanner(bytes: text)
        guard scanner.name(), let std = scanner.offset(hours: 0...24) else { return nil }
        standardOffset = -std
        if scanner.atEnd {
            daylight = nil
            return
        }
        guard scanner.name() else { return nil }
        var dst = standardOffset + 3_600
        if let peek = scanner.peek, peek != UInt8(ascii: ",") {
            guard let west = scanner.offset(hours: 0...24) else { return nil }
            dst = -west
        }
        let start: Transition
        let end: Transition
        if scanner.atEnd {
            // POSIX leaves a missing rule to the implementation; tzcode and glibc use the US
            // rule, "M3.2.0,M11.1.0".
            start = Transition(date: .monthWeekDay(month: 3, week: 2, weekday: 0), time: 7_200)
            end = Transition(date: .monthWeekDay(month: 11, week: 1, weekday: 0), time: 7_200)
        } else {
            guard scanner.take(UInt8(ascii: ",")), let s = scanner.transition(),
                  scanner.take(UInt8(ascii: ",")), let e = scanner.transition(), scanner.atEnd else { return nil }
            start = s
            end = e
        }
        guard ZoneRules.offsetRange.contains(standardOffset), ZoneRules.offsetRange.contains(dst) else { return nil }
        daylight = Daylight(offset: dst, start: start, end: end)
    }

    /// The local type at `t` (already clamped to ±1 million years).
    func localType(at t: Int64) -> ZoneRules.LocalType {
        guard let daylight else { return .init(utcOffset: standardOffset, isDST: false) }
        // The changes of the years around t, in order; the last one at or before t decides.
        // Three years, so a rule whose change falls across New Year (or a zone in DST all
        // year, `J365/25`) is still right at the edges.
        let year = CivilDate(unixSeconds: t).year
        var events: [(instant: Int64, isDST: Bool)] = []
        for y in (year - 1)...(year + 1) {
            // DST starts at a local standard time and ends at a local daylight time.
            events.append((Self.day(daylight.start.date, year: y) * 86_400 + daylight.start.time - standardOffset, true))
            events.append((Self.day(daylight.end.date, year: y) * 86_400 + daylight.end.time - daylight.offset, false))
        }
        events.sort { $0.instant < $1.instant }
        var isDST = !events[0].isDST
        for event in events where event.instant <= t { isDST = event.isDST }
        return .init(utcOffset: isDST ? daylight.offset : standardOffset, isDST: isDST)
    }

    /// Days since 1970-01-01 of the rule's day in `year`.
    static func day(_ rule: DateRule, year: Int64) -> Int64 {
        let january1 = CivilDate.daysSinceEpoch(year: year, month: 1, day: 1)
        let leap = CivilDate.days(inMonth: 2, of: year) == 29
        switch rule {
        case .julian(let n):
            return january1 + n - 1 + (leap && n >= 60 ? 1 : 0)
        case .zeroBased(let n):
            return january1 + n
        case .monthWeekDay(let month, let week, let weekday):
            let first = CivilDate.daysSinceEpoch(year: year, month: month, day: 1)
            // 1970-01-01 was a Thursday (4).
            let firstWeekday = ((first + 4) % 7 + 7) % 7
            var day = first + (weekday - firstWeekday + 7) % 7 + (week - 1) * 7
            let length = Int64(CivilDate.days(inMonth: month, of: year))
            while day >= first + length { day -= 7 }
            return day
        }
    }

    /// A cursor over the TZ string; every method consumes only what it accepts.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }

        mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            index += 1
            return true
        }

        /// `std`/`dst`: three or more letters, or `<…>` of letters, digits, `+`, `-` (three or more).
        mutating func name() -> Bool {
            if take(UInt8(ascii: "<")) {
                let start = index
                while let b = peek, isAlpha(b) || isDigit(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") { index += 1 }
                return index - start >= 3 && take(UInt8(ascii: ">"))
            }
            let start = index
            while let b = peek, isAlpha(b) { index += 1 }
            return index - start >= 3
        }

        /// `[+-]hh[:mm[:ss]]` in seconds; minutes and seconds 0…59.
        mutating func offset(hours: ClosedRange<Int64>) -> Int64? {
            var sign: Int64 = 1
            if take(UInt8(ascii: "-")) { sign = -1 } else { _ = take(UInt8(ascii: "+")) }
            guard let h = number(maxDigits: 3), hours.contains(h) else { return nil }
            var seconds = h * 3_600
            if take(UInt8(ascii: ":")) {
                guard let m = number(maxDigits: 2), m <= 59 else { return nil }
                seconds += m * 60
                if take(UInt8(ascii: ":")) {
                    guard let s = number(maxDigits: 2), s <= 59 else { return nil }
                    seconds += s
                }
            }
            return sign * seconds
        }

        /// `date[/time]`; the time defaults to 02:00:00.
        mutating func transition() -> Transition? {
            let date: DateRule
            if take(UInt8(ascii: "J")) {
                guard let n = number(maxDigits: 3), (1...365).contains(n) else { return nil }
                date = .julian(n)
            } else if take(UInt8(ascii: "M")) {
                guard let m = number(maxDigits: 2), (1...12).contains(m), take(UInt8(ascii: ".")),
                      let w = number(maxDigits: 1), (1...5).contains(w), take(UInt8(ascii: ".")),
                      let d = number(maxDigits: 1), (0...6).contains(d) else { return nil }
                date = .monthWeekDay(month: Int(m), week: w, weekday: d)
            } else {
                guard let n = number(maxDigits: 3), (0...365).contains(n) else { return nil }
                date = .zeroBased(n)
            }
            var time: Int64 = 7_200
            if take(UInt8(ascii: "/")) {
                guard let t = offset(hours: -167...167) else { return nil }
                time = t
            }
            return Transition(date: date, time: time)
        }

        private mutating func number(maxDigits: Int) -> Int64? {
            var value: Int64 = 0
            var count = 0
            while let b = peek, isDigit(b) {
                guard count < maxDigits else { return nil }
                value = value * 10 + Int64(b - UInt8(ascii: "0"))
                count += 1
                index += 1
            }
            return count == 0 ? nil : value
        }

        private func isAlpha(_ b: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
        }

        private func isDigit(_ b: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) }
    }
}
