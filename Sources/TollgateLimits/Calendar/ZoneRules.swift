// SPDX-License-Identifier: Apache-2.0
// A time zone's UTC offsets, read from a TZif file (RFC 8536): the transition table, and past
// its end the POSIX TZ string of the v2+ footer. Quota days and months are computed in the
// configured zone, so the offset at any instant must be right, and a damaged or hostile file
// must give a typed error, never a trap: every count is checked against the bytes that remain
// before anything is read or allocated.

/// Why a TZif file was refused.
public enum ZoneRulesError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first four bytes are not `TZif` (RFC 8536 §3.1).
    case notTZif
    /// The file ends before the header's counts say it should.
    case truncated
    /// A count, index, offset or order that RFC 8536 §3.2 forbids; `what` says which.
    case invalid(String)
    /// The footer's TZ string is not one RFC 8536 §3.3 / POSIX allows.
    case badFooter(String)

    public var description: String {
        switch self {
        case .notTZif: return "not a TZif file (no 'TZif' magic)"
        case .truncated: return "TZif file is truncated"
        case .invalid(let what): return "invalid TZif file: \(what)"
        case .badFooter(let text): return "invalid TZ string in the TZif footer: '\(text)'"
        }
    }
}

public struct ZoneRules: Sendable, Equatable {
    /// One local time type: seconds east of UTC and whether it is daylight saving time.
    struct LocalType: Sendable, Equatable {
        var utcOffset: Int64
        var isDST: Bool
    }

    /// Transition instants (unix seconds), strictly ascending.
    private let times: [Int64]
    /// `types[typeIndex[i]]` applies from `times[i]` on; every index is < `types.count`.
    private let typeIndex: [UInt8]
    /// Never empty.
    private let types: [LocalType]
    /// Instants on or after the last transition (or all instants when there are none).
    private let footer: PosixTZRule?

    /// UTC: offset 0 at every instant.
    public static let utc = ZoneRules(times: [], typeIndex: [], types: [LocalType(utcOffset: 0, isDST: false)], footer: nil)

    /// RFC 8536 §3.2: "utoff … SHOULD be in the range -89999 through 93599" (−24:59:59 …
    /// +25:59:59). Enforced, so the calendar's arithmetic stays bounded.
    static let offsetRange: ClosedRange<Int64> = -89_999...93_599

    private init(times: [Int64], typeIndex: [UInt8], types: [LocalType], footer: PosixTZRule?) {
        self.times = times
        self.typeIndex = typeIndex
        self.types = types
        self.footer = footer
    }

    /// Rules from a POSIX TZ string alone (`CET-1CEST,M3.5.0,M10.5.0/3`), as in a TZif footer.
    public init(posixTZ text: String) throws(ZoneRulesError) {
        guard let rule = PosixTZRule(Array(text.utf8)) else { throw .badFooter(text) }
        self.init(times: [], typeIndex: [], types: [LocalType(utcOffset: rule.standardOffset, isDST: false)], footer: rule)
    }

    /// Parses a TZif file of version 1, 2, 3 or 4. For v2+ the 64-bit block and the footer are
    /// used and the v1 block is skipped (RFC 8536 §4: readers SHOULD ignore it). Leap-second
    /// records (only in the `right/` zones) are read past and not applied: the gateway's clock
    /// is POSIX time, which has no leap seconds.
    public init(tzif bytes: [UInt8]) throws(ZoneRulesError) {
        var reader = Reader(bytes: bytes)
        let v1 = try reader.header()
        guard v1.version >= 2 else {
            let block = try reader.block(v1, timeSize: 4)
            self.init(times: block.times, typeIndex: block.typeIndex, types: block.types, footer: nil)
            return
        }
        try reader.skip(v1.dataSize(timeSize: 4))
        let v2 = try reader.header()
        let block = try reader.block(v2, timeSize: 8)
        let footer = try reader.footer()
        self.init(times: block.times, typeIndex: block.typeIndex, types: block.types, footer: footer)
    }

    /// Seconds east of UTC at `unixSeconds` (any Int64: far instants are clamped to ±1 million
    /// years, where the footer's rule, or the last type, goes on applying).
    public func utcOffset(at unixSeconds: Int64) -> Int64 {
        localType(at: unixSeconds).utcOffset
    }

    /// Whether daylight saving time is in effect at `unixSeconds`.
    public func isDaylightSavingTime(at unixSeconds: Int64) -> Bool {
        localType(at: unixSeconds).isDST
    }

    /// ±(one million years) in seconds: far beyond any clock, small enough that no sum below
    /// can overflow.
    static let instantBound: Int64 = 1_000_000 * 366 * 86_400

    static func clamp(_ t: Int64) -> Int64 { min(max(t, -instantBound), instantBound) }

    private func localType(at unixSeconds: Int64) -> LocalType {
        let t = Self.clamp(unixSeconds)
        guard let first = times.first else {
            if let footer { return footer.localType(at: t) }
            return types[0]
        }
        // RFC 8536 §3.2: before the first transition, time type 0.
        if t < first { return types[0] }
        // The last transition at or before t.
        var low = 0
        var high = times.count - 1
        while low < high {
            let mid = low + (high - low + 1) / 2
            if times[mid] <= t { low = mid } else { high = mid - 1 }
        }
        if low == times.count - 1, let footer { return footer.localType(at: t) }
        return types[Int(typeIndex[low])]
    }
}

extension ZoneRules {
    /// Big-endian reads over the file's bytes; every read checks the bytes that remain.
    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        struct Header {
            var version: UInt8
            var isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt: Int

            func dataSize(timeSize: Int) -> Int {
                timecnt * timeSize + timecnt + typecnt * 6 + charcnt + leapcnt * (timeSize + 4) + isstdcnt + isutcnt
            }
        }

        struct Block {
            var times: [Int64]
            var typeIndex: [UInt8]
            var types: [LocalType]
        }

        var remaining: Int { bytes.count - offset }

        mutating func skip(_ count: Int) throws(ZoneRulesError) {
            guard count >= 0, count <= remaining else { throw .truncated }
            offset += count
        }

        mutating func byte() throws(ZoneRulesError) -> UInt8 {
            guard remaining >= 1 else { throw .truncated }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func int32() throws(ZoneRulesError) -> Int32 {
            guard remaining >= 4 else { throw .truncated }
            var value: UInt32 = 0
            for i in 0..<4 { value = value << 8 | UInt32(bytes[offset + i]) }
            offset += 4
            return Int32(bitPattern: value)
        }

        mutating func int64() throws(ZoneRulesError) -> Int64 {
            guard remaining >= 8 else { throw .truncated }
            var value: UInt64 = 0
            for i in 0..<8 { value = value << 8 | UInt64(bytes[offset + i]) }
            offset += 8
            return Int64(bitPattern: value)
        }

        /// RFC 8536 §3.1: magic, version, 15 unused bytes, six 32-bit counts.
        mutating func header() throws(ZoneRulesError) -> Header {
            guard remaining >= 44 else { throw remaining >= 4 && !hasMagic ? .notTZif : .truncated }
            guard hasMagic else { throw .notTZif }
            offset += 4
            let version = try byte()
            // RFC 8536 §3.1: 0 (version 1), '2', '3'; '4' is RFC 9636. Later versions are
            // meant to stay readable by these rules.
            guard version == 0 || version >= UInt8(ascii: "2") else { throw .invalid("unknown version byte \(version)") }
            try skip(15)
            var counts: [Int] = []
            for _ in 0..<6 {
                // A count is at most the file's length: anything more cannot fit, and checking
                // here keeps the size sums below far from overflow.
                let count = Int(UInt32(bitPattern: try int32()))
                guard count <= bytes.count else { throw .truncated }
                counts.append(count)
            }
            let header = Header(version: version == 0 ? 1 : version - UInt8(ascii: "0"),
                                isutcnt: counts[0], isstdcnt: counts[1], leapcnt: counts[2],
                                timecnt: counts[3], typecnt: counts[4], charcnt: counts[5])
            // RFC 8536 §3.2's constraints on the counts.
            guard header.typecnt >= 1 else { throw .invalid("typecnt is 0") }
            guard header.typecnt <= 256 else { throw .invalid("typecnt is above 256") }
            guard header.charcnt >= 1 else { throw .invalid("charcnt is 0") }
            guard header.isstdcnt == 0 || header.isstdcnt == header.typecnt else { throw .invalid("isstdcnt is neither 0 nor typecnt") }
            guard header.isutcnt == 0 || header.isutcnt == header.typecnt else { throw .invalid("isutcnt is neither 0 nor typecnt") }
            return header
        }

        private var hasMagic: Bool {
            remaining >= 4 && bytes[offset] == 0x54 && bytes[offset + 1] == 0x5A && bytes[offset + 2] == 0x69 && bytes[offset + 3] == 0x66
        }

        /// One data block (RFC 8536 §3.2).
        mutating func block(_ header: Header, timeSize: Int) throws(ZoneRulesError) -> Block {
            guard header.dataSize(timeSize: timeSize) <= remaining else { throw .truncated }
            var times: [Int64] = []
            times.reserveCapacity(header.timecnt)
            for _ in 0..<header.timecnt {
                let time = timeSize == 4 ? Int64(try int32()) : try int64()
                if let last = times.last, time <= last { throw .invalid("transition times are not ascending") }
                times.append(time)
            }
            var typeIndex: [UInt8] = []
            typeIndex.reserveCapacity(header.timecnt)
            for _ in 0..<header.timecnt {
                let index = try byte()
                guard Int(index) < header.typecnt else { throw .invalid("transition type \(index) is not below typecnt \(header.typecnt)") }
                typeIndex.append(index)
            }
            var types: [LocalType] = []
            for _ in 0..<header.typecnt {
                let offset = Int64(try int32())
                let dst = try byte()
                let designation = try byte()
                guard ZoneRules.offsetRange.contains(offset) else { throw .invalid("UT offset \(offset) is out of range") }
                guard dst <= 1 else { throw .invalid("isdst is \(dst)") }
                guard Int(designation) < header.charcnt else { throw .invalid("designation index is not below charcnt") }
                types.append(LocalType(utcOffset: offset, isDST: dst == 1))
            }
            try skip(header.charcnt + header.leapcnt * (timeSize + 4))
            for _ in 0..<(header.isstdcnt + header.isutcnt) {
                guard try byte() <= 1 else { throw .invalid("standard/UT indicator is not 0 or 1") }
            }
            // Clamped like every instant we look up, so a far transition cannot make a lookup
            // land past its table and no sum overflows.
            return Block(times: times.map(ZoneRules.clamp), typeIndex: typeIndex, types: types)
        }

        /// RFC 8536 §3.3: NL, a TZ string (maybe empty), NL. An empty string means "no rule
        /// past the table".
        mutating func footer() throws(ZoneRulesError) -> PosixTZRule? {
            guard remaining >= 2, bytes[offset] == 0x0A else { throw .truncated }
            let start = offset + 1
            guard let end = bytes[start...].firstIndex(of: 0x0A) else { throw .truncated }
            let text = Array(bytes[start..<end])
            offset = end + 1
            if text.isEmpty { return nil }
            guard let rule = PosixTZRule(text) else {
                throw .badFooter(String(decoding: text.prefix(64), as: UTF8.self))
            }
            return rule
        }
    }
}
