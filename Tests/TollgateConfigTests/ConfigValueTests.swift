// SPDX-License-Identifier: Apache-2.0
// Durations, sizes and money parsed exactly from text, including garbage and overflow.
import Testing
import TollgateConfig

@Suite struct ConfigValueTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)),
        ("30s", .seconds(30)),
        ("15m", .seconds(900)),
        ("24h", .seconds(86_400)),
        ("7d", .seconds(604_800)),
        ("1.5s", .milliseconds(1_500)),
        ("0.25m", .seconds(15)),
        ("0", .zero),
        ("0s", .zero),
        ("0ms", .zero),
        ("365d", .seconds(365 * 86_400)),
    ])
    func durations(_ text: String, _ expected: Duration) throws {
        #expect(try ConfigValue.duration(text) == expected)
    }

    @Test(arguments: [
        ("", ConfigValueError.empty),
        ("30", .malformed),
        ("s", .malformed),
        ("30 s", .malformed),
        ("30S", .malformed),
        ("1h30m", .malformed),
        ("30sec", .malformed),
        ("+5s", .malformed),
        ("1e3ms", .malformed),
        (".5s", .malformed),
        ("5.s", .malformed),
        ("-5s", .negative),
        ("1.5ms", .tooPrecise),
        ("0.0001s", .tooManyDecimals(places: 3)),
        ("366d", .tooLarge),
        ("99999999999999999999h", .tooLarge),
        ("9999999999999999h", .tooLarge),
    ])
    func badDurations(_ text: String, _ expected: ConfigValueError) {
        #expect(throws: expected) { try ConfigValue.duration(text) }
    }

    @Test(arguments: [
        ("0", 0),
        ("1024", 1024),
        ("512B", 512),
        ("64KB", 65_536),
        ("64kb", 65_536),
        ("64KiB", 65_536),
        ("64k", 65_536),
        ("100MB", 104_857_600),
        ("1GB", 1_073_741_824),
        ("1.5GB", 1_610_612_736),
        ("2TB", 2_199_023_255_552),
    ])
    func sizes(_ text: String, _ expected: Int) throws {
        #expect(try ConfigValue.byteSize(text) == expected)
    }

    @Test(arguments: [
        ("", ConfigValueError.empty),
        ("KB", .malformed),
        ("10XB", .malformed),
        ("10 MB", .malformed),
        ("1,5MB", .malformed),
        ("-1KB", .negative),
        ("0.001KB", .tooPrecise),
        ("99999999999999999999", .overflow),
        ("9000000000TB", .overflow),
    ])
    func badSizes(_ text: String, _ expected: ConfigValueError) {
        #expect(throws: expected) { try ConfigValue.byteSize(text) }
    }

    /// Exact decimal arithmetic: 0.00019 is 190 micro-dollars, never 189 from a Double.
    @Test(arguments: [
        ("0.00019", Int64(190)),
        ("0.000583", 583),
        ("0.4", 400_000),
        ("0.40", 400_000),
        ("25", 25_000_000),
        ("0", 0),
        ("1.000000", 1_000_000),
        ("1.50000000", 1_500_000),
        ("-0.5", -500_000),
        ("9223372036854.775807", Int64.max),
        ("0.1", 100_000),
        ("0.7", 700_000),
    ])
    func money(_ text: String, _ expected: Int64) throws {
        #expect(try ConfigValue.microDollars(text) == expected)
    }

    @Test(arguments: [
        ("", ConfigValueError.empty),
        ("$5", .malformed),
        ("1e-4", .malformed),
        ("1.", .malformed),
        (".5", .malformed),
        ("1_000", .malformed),
        ("0.5 USD", .malformed),
        ("--1", .malformed),
        ("0.0000001", .tooManyDecimals(places: 6)),
        ("0.00019000001", .tooManyDecimals(places: 6)),
        ("9223372036854.775808", .overflow),
        ("99999999999999999999", .overflow),
    ])
    func badMoney(_ text: String, _ expected: ConfigValueError) {
        #expect(throws: expected) { try ConfigValue.microDollars(text) }
    }

    @Test(arguments: [(Int64(190), "0.00019"), (400_000, "0.4"), (25_000_000, "25"), (0, "0"), (-1, "-0.000001"),
                      (1_234_567, "1.234567")])
    func formatMoney(_ micros: Int64, _ expected: String) throws {
        #expect(ConfigValue.formatMicroDollars(micros) == expected)
        #expect(try ConfigValue.microDollars(expected) == micros)
    }

    @Test(arguments: [(Duration.seconds(30), "30s"), (.milliseconds(500), "500ms"), (.seconds(300), "5m"),
                      (.seconds(86_400), "1d"), (.zero, "0s"), (.milliseconds(1_500), "1500ms")])
    func formatDuration(_ duration: Duration, _ expected: String) throws {
        #expect(ConfigValue.format(duration) == expected)
        #expect(try ConfigValue.duration(expected) == duration)
    }

    @Test func integers() throws {
        #expect(try ConfigValue.integer("42") == 42)
        #expect(try ConfigValue.integer("-3") == -3)
        #expect(throws: ConfigValueError.tooManyDecimals(places: 0)) { try ConfigValue.integer("1.5") }
        #expect(throws: ConfigValueError.malformed) { try ConfigValue.integer("0x10") }
        #expect(throws: ConfigValueError.overflow) { try ConfigValue.integer("9223372036854775808") }
    }
}
