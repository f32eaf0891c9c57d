// SPDX-License-Identifier: Apache-2.0
// `defaults.timezone` is read into ZoneRules at load: the plan's quota calendar needs the
// rules, and a zone file that is there but damaged must be a FILE:LINE error, not UTC.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import TollgateConfig
import TollgateLimits

@Suite struct ZoneConfigTests {
    @Test(.enabled(if: FileSystemProbe.hasZone("Europe/Berlin")))
    func theZoneFileIsLoaded() throws {
        let config = try #require(TestSupport.load("defaults:\n  timezone: Europe/Berlin\n").config)
        #expect(config.defaults.zoneRules.utcOffset(at: 1_782_864_000) == 7_200)   // 2026-07-01: CEST
        #expect(config.defaults.zoneRules.utcOffset(at: 1_767_225_600) == 3_600)   // 2026-01-01: CET
        #expect(config.defaults.zoneRules != .utc)
    }

    @Test func utcNeedsNoFile() throws {
        for name in ["UTC", "Etc/UTC", "GMT", "Z"] {
            let config = try #require(TestSupport.load("defaults:\n  timezone: \(name)\n",
                                                       environment: ["TZDIR": "/nonexistent-zoneinfo"]).config)
            #expect(config.defaults.timezone == name && config.defaults.zoneRules == .utc)
        }
        #expect(try #require(TestSupport.load("storage: { sqlite: x.db }\n").config).defaults.zoneRules == .utc)
    }

    @Test func aDamagedZoneFileIsAnError() throws {
        var template = Array("/tmp/tollgate-zone-test-XXXXXX".utf8CString)
        try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) } != nil)
        let directory = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let path = "\(directory)/Bad"
        let fd = open(path, O_CREAT | O_WRONLY, 0o644)
        try #require(fd >= 0)
        _ = "TZif2 but nothing after it".withCString { write(fd, $0, 26) }
        close(fd)
        defer { unlink(path); rmdir(directory) }
        let yaml = "defaults:\n  timezone: Bad   # E1\n"
        let result = TestSupport.load(yaml, environment: ["TZDIR": directory])
        #expect(result.config == nil)
        #expect(TestSupport.errors(result) == [TestSupport.resolve(
            "t.yaml:{E1}: defaults.timezone: time zone 'Bad': \(directory)/Bad: TZif file is truncated", in: yaml)])
    }
}
