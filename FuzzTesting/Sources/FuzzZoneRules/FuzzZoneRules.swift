// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for TollgateLimits.ZoneRules (the TZif parser, RFC 8536, and the POSIX TZ
// string of its footer) and QuotaCalendar over whatever rules a file gives. The whole input is
// the file; it is also tried as a TZ string.
//
// Checks, each a `fatalError` so libFuzzer saves the input:
// - parsing never traps or hangs, whatever the bytes (ASan and libFuzzer's timeout watch that);
// - a parsed zone's offsets stay within RFC 8536's −89999…93599 s at every probed instant;
// - the calendar's day and month around an instant contain it (clamped to ±1 million years).
import FuzzSupport
import TollgateLimits

let instants: [Int64] = [Int64.min, -1 << 40, -2_208_988_800, -1, 0, 1, 1_700_000_000, 1_774_742_400,
                         2_147_483_647, 2_147_483_648, 4_109_918_400, 1 << 40, Int64.max]

func check(_ rules: ZoneRules, _ what: String) {
    let calendar = QuotaCalendar(zone: rules)
    for t in instants {
        let offset = rules.utcOffset(at: t)
        if offset < -89_999 || offset > 93_599 { fatalError("\(what): offset \(offset) at \(t)") }
        let clamped = min(max(t, -31_622_400_000_000), 31_622_400_000_000)
        let day = calendar.day(containing: t)
        let month = calendar.month(containing: t)
        if !day.contains(clamped) { fatalError("\(what): day \(day) does not contain \(t)") }
        if !month.contains(clamped) { fatalError("\(what): month \(month) does not contain \(t)") }
    }
}

func runCase(_ input: [UInt8]) {
    if let rules = try? ZoneRules(tzif: input) { check(rules, "tzif") }
    if input.count <= 256, let rules = try? ZoneRules(posixTZ: String(decoding: input, as: UTF8.self)) { check(rules, "posix") }
}

// MARK: - libFuzzer entry points

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZoneRules(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    runCase(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

// SwiftPM links an executable target with `--defsym main=FuzzZoneRules_main` (see FuzzSupport).
@_cdecl("FuzzZoneRules_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzZoneRules)
}
