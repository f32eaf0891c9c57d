// SPDX-License-Identifier: Apache-2.0
// ZoneRules against the system's tz database (Debian tzdata), cross-checked with Python's
// zoneinfo over the same files (ZoneTables.swift, from scripts/make_zone_tables.py): instants from
// 1900 to 2100, the transitions of 2024–2026, 2040 and 2098 (past the table: the footer's rule).
import Testing
import TollgateCore
import TollgateLimits

#if canImport(Glibc)
import Glibc
#endif

enum ZoneFiles {
    static let directory = "/usr/share/zoneinfo"

    /// The file's bytes, or nil when it is not there.
    static func bytes(_ name: String) -> [UInt8]? {
        guard let file = fopen("\(directory)/\(name)", "rb") else { return nil }
        defer { fclose(file) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    static func rules(_ name: String) throws -> ZoneRules {
        if name == "UTC" { return .utc }
        return try ZoneRules(tzif: try #require(bytes(name), "\(directory)/\(name) missing: apt-get install tzdata"))
    }

    static var present: Bool { bytes("Europe/Berlin") != nil }

    /// Table text → zone → rows of integers.
    static func table(_ text: String) -> [String: [[Int64]]] {
        var result: [String: [[Int64]]] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let zone = fields.first else { continue }
            result[String(zone), default: []].append(fields.dropFirst().compactMap { Int64($0) })
        }
        return result
    }
}

@Suite(.enabled(if: ZoneFiles.present))
struct ZoneRulesTests {
    @Test func offsetsMatchPythonZoneinfo() throws {
        let table = ZoneFiles.table(ZoneTables.offsets)
        #expect(table.count == 12)
        var checked = 0
        for (zone, rows) in table {
            let rules = try ZoneFiles.rules(zone)
            for row in rows {
                #expect(rules.utcOffset(at: row[0]) == row[1], "\(zone) at \(row[0])")
                checked += 1
            }
        }
        #expect(checked > 1_500)
    }

    @Test func daylightSavingFlag() throws {
        let berlin = try ZoneFiles.rules("Europe/Berlin")
        #expect(berlin.isDaylightSavingTime(at: 1_782_864_000))   // 2026-07-01
        #expect(!berlin.isDaylightSavingTime(at: 1_767_225_600))  // 2026-01-01
        #expect(berlin.isDaylightSavingTime(at: 4_118_083_200))   // 2100-07-01: the footer
    }

    /// The footer alone gives what the table gives while the table lasts.
    @Test func footerRuleAgreesWithTheTable() throws {
        let berlin = try ZoneFiles.rules("Europe/Berlin")
        let posix = try ZoneRules(posixTZ: "CET-1CEST,M3.5.0,M10.5.0/3")
        let lordHowe = try ZoneFiles.rules("Australia/Lord_Howe")
        let lordHowePosix = try ZoneRules(posixTZ: "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0")
        let newYork = try ZoneFiles.rules("America/New_York")
        let newYorkPosix = try ZoneRules(posixTZ: "EST5EDT,M3.2.0,M11.1.0")
        // No rule: tzcode's default, the US one.
        let newYorkDefault = try ZoneRules(posixTZ: "EST5EDT")
        // 2010 … 2030 every hour and 7 seconds; the first few differences are named.
        var differences: [String] = []
        for t in stride(from: Int64(1_262_304_000), to: 1_893_456_000, by: 3_607) {
            if berlin.utcOffset(at: t) != posix.utcOffset(at: t) { differences.append("Berlin \(t)") }
            if lordHowe.utcOffset(at: t) != lordHowePosix.utcOffset(at: t) { differences.append("Lord Howe \(t)") }
            if newYork.utcOffset(at: t) != newYorkPosix.utcOffset(at: t) { differences.append("New York \(t)") }
            if newYork.utcOffset(at: t) != newYorkDefault.utcOffset(at: t) { differences.append("EST5EDT \(t)") }
        }
        #expect(differences.isEmpty, "\(differences.count): \(differences.prefix(8))")
    }

    @Test func posixStrings() throws {
        let utc = try ZoneRules(posixTZ: "UTC0")
        #expect(utc.utcOffset(at: 0) == 0)
        #expect(try ZoneRules(posixTZ: "<+0530>-5:30").utcOffset(at: 0) == 19_800)
        #expect(try ZoneRules(posixTZ: "<-03>3").utcOffset(at: 0) == -10_800)
        // DST all year (tzcode's form): always the daylight offset.
        let always = try ZoneRules(posixTZ: "EST5EDT4,0/0,J365/25")
        for t in stride(from: Int64(0), to: 4_000_000_000, by: 86_400 * 17 + 3_601) {
            #expect(always.utcOffset(at: t) == -14_400)
        }
        // Julian and zero-based days: day J60 is March 1 (February 29 never counted); day 59 is
        // February 29 in a leap year. 2028 is a leap year.
        let julian = try ZoneRules(posixTZ: "AAA0BBB-1,J60/0,J300/0")
        #expect(julian.utcOffset(at: 1_835_481_600 - 1) == 0)       // 2028-02-29T23:59:59Z
        #expect(julian.utcOffset(at: 1_835_481_600) == 3_600)       // 2028-03-01T00:00:00Z
        let zeroBased = try ZoneRules(posixTZ: "AAA0BBB-1,59/0,299/0")
        #expect(zeroBased.utcOffset(at: 1_835_395_200 - 1) == 0)    // 2028-02-28T23:59:59Z
        #expect(zeroBased.utcOffset(at: 1_835_395_200) == 3_600)    // 2028-02-29T00:00:00Z
        for bad in ["", "A0", "EST", "EST5EDT,M3.2.0", "EST5EDT,M13.2.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
                    "EST5EDT,M3.2.7,M11.1.0", "EST25", "EST5EDT,J0,J365", "EST5EDT,366,1", "<AB>5", "EST5:60",
                    "EST5EDT,M3.2.0/168,M11.1.0", "EST5EDT,M3.2.0,M11.1.0x", "EST5 ", "EST99999999999999999999"] {
            #expect(throws: ZoneRulesError.self, "\(bad)") { try ZoneRules(posixTZ: bad) }
        }
    }

    /// A v1 file (32-bit block only, no footer): the same offsets for 1901…2037.
    @Test func versionOneFile() throws {
        var bytes = try #require(ZoneFiles.bytes("Europe/Berlin"))
        func count(at i: Int) -> Int {
            var value = 0
            for byte in bytes[i..<(i + 4)] { value = value << 8 | Int(byte) }
            return value
        }
        let counts = [20, 24, 28, 32, 36, 40].map(count(at:))
        let (isut, isstd, leap, time, type, char) = (counts[0], counts[1], counts[2], counts[3], counts[4], counts[5])
        let v1Size = 44 + time * 5 + type * 6 + char + leap * 8 + isstd + isut
        bytes = Array(bytes[0..<v1Size])
        bytes[4] = 0
        let v1 = try ZoneRules(tzif: bytes)
        let v2 = try ZoneFiles.rules("Europe/Berlin")
        for t in stride(from: Int64(Int32.min) + 1, to: Int64(Int32.max), by: 86_400 * 5 + 1_237) {
            #expect(v1.utcOffset(at: t) == v2.utcOffset(at: t), "at \(t)")
        }
    }

    /// Every prefix of a real file is refused with a typed error (never a trap), and so is
    /// every file with one byte changed unless it still parses; then any lookup is fine.
    @Test func damagedFilesNeverTrap() throws {
        let original = try #require(ZoneFiles.bytes("Australia/Lord_Howe"))
        for length in 0..<original.count {
            #expect(throws: ZoneRulesError.self) { try ZoneRules(tzif: Array(original[0..<length])) }
        }
        var random = SplitMix64(seed: 11)
        var parsed = 0
        for _ in 0..<4_000 {
            var bytes = original
            for _ in 0...(random.next() % 3) {
                bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            guard let rules = try? ZoneRules(tzif: bytes) else { continue }
            parsed += 1
            for t in [Int64.min, -1 << 40, -1, 0, 1_700_000_000, 4_000_000_000, 1 << 40, Int64.max] {
                _ = rules.utcOffset(at: t)
                _ = QuotaCalendar(zone: rules).month(containing: t)
            }
        }
        #expect(parsed > 0)
        for junk: [UInt8] in [[], Array("TZif".utf8), Array("TZif2".utf8) + [UInt8](repeating: 0xFF, count: 60),
                              Array("TZif2".utf8) + [UInt8](repeating: 0, count: 39), Array("not a zone file at all, just text!!!!!!!!!!!!!".utf8)] {
            #expect(throws: ZoneRulesError.self) { try ZoneRules(tzif: junk) }
        }
    }

    /// Every zone and link tzdata.zi names parses, and around any instant its day starts on
    /// that day (at the first instant of it) and contains the instant. (Checked once against
    /// Python's zoneinfo for all 598 names × 60 instants: offsets and day starts all equal.)
    @Test func everyZoneOfTheDatabase() throws {
        let index = try #require(ZoneFiles.bytes("tzdata.zi"))
        var names: [String] = []
        for line in String(decoding: index, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, fields[0] == "Z" { names.append(String(fields[1])) }
            if fields.count >= 3, fields[0] == "L" { names.append(String(fields[2])) }
        }
        #expect(names.count > 400)
        var random = SplitMix64(seed: 8536)
        for name in names {
            let bytes = try #require(ZoneFiles.bytes(name), "\(name)")
            let rules: ZoneRules
            do { rules = try ZoneRules(tzif: bytes) } catch {
                Issue.record("\(name): \(error)")
                continue
            }
            let calendar = QuotaCalendar(zone: rules)
            for _ in 0..<20 {
                // 1900 … 2100.
                let t = -2_208_988_800 + Int64(random.next() % 6_311_433_600)
                let day = calendar.day(containing: t)
                #expect(day.contains(t) && calendar.date(at: day.start) == day.date && calendar.date(at: day.start - 1) < day.date,
                        "\(name) at \(t): \(day)")
            }
        }
    }

    @Test func aWideSampleOfZonesParses() throws {
        var failures: [String] = []
        for zone in ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Sao_Paulo",
                     "Pacific/Apia", "America/Havana", "Pacific/Chatham", "Africa/Casablanca", "America/St_Johns",
                     "Asia/Tokyo", "Etc/UTC", "Etc/GMT+12", "Asia/Tehran", "America/Santiago", "Antarctica/Troll",
                     "Europe/Dublin", "Asia/Gaza", "America/Nuuk", "Pacific/Kiritimati", "EST5EDT"] {
            guard let bytes = ZoneFiles.bytes(zone) else { continue }
            do { _ = try ZoneRules(tzif: bytes) } catch { failures.append("\(zone): \(error)") }
        }
        #expect(failures.isEmpty)
    }
}
