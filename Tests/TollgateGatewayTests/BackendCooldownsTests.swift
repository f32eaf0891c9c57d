// SPDX-License-Identifier: Apache-2.0
// The cool-down table with the test's own clock: a backend stays out until its stated time and
// no longer, the longer of two waits wins, and the 503's reason names the time left.
import Testing
@testable import TollgateGateway

struct BackendCooldownsTests {
    private let second: UInt64 = 1_000_000_000

    @Test func aBackendIsSkippedUntilItsTimeAndNotAfter() {
        let table = BackendCooldowns(backendCount: 3)
        let start: UInt64 = 5 * second
        #expect(table.entry(1, now: start) == nil)
        table.coolDown(1, until: start + 10 * second, reason: "ZeroGPU quota exceeded")
        #expect(table.entry(1, now: start)?.reason == "ZeroGPU quota exceeded")
        #expect(table.entry(0, now: start) == nil)
        #expect(table.entry(2, now: start) == nil)
        #expect(table.entry(1, now: start + 10 * second - 1) != nil)
        #expect(table.entry(1, now: start + 10 * second) == nil)
    }

    @Test func theLongerWaitWins() {
        let table = BackendCooldowns(backendCount: 2)
        table.coolDown(0, until: 100 * second, reason: "daily quota")
        table.coolDown(0, until: 50 * second, reason: "per-minute limit")
        #expect(table.entry(0, now: 60 * second)?.reason == "daily quota")
        table.coolDown(0, until: 200 * second, reason: "monthly cap")
        #expect(table.entry(0, now: 150 * second)?.reason == "monthly cap")
    }

    @Test func anIndexOutsideThePlanIsIgnored() {
        let table = BackendCooldowns(backendCount: 1)
        table.coolDown(5, until: 100 * second, reason: "x")
        table.coolDown(-1, until: 100 * second, reason: "x")
        #expect(table.entry(5, now: 0) == nil)
        #expect(table.entry(-1, now: 0) == nil)
        #expect(table.entry(0, now: 0) == nil)
    }

    @Test func theReasonSaysHowLongIsLeftRoundedUp() {
        let entry = BackendCooldowns.Entry(until: 10 * second + 1, reason: "quota exceeded, retry in 0:00:10")
        #expect(BackendCooldowns.describe(entry, now: 1 * second) == "quota exceeded, retry in 0:00:10 (cooling down for 10s)")
    }

    /// `describe` is arithmetic on times an adapter derived from a platform's text: no `until`
    /// (however far) and no clock reading (however late) may trap the process.
    @Test func theReasonNeverTrapsOnAnyTime() {
        let far = BackendCooldowns.Entry(until: .max, reason: "x")
        #expect(BackendCooldowns.describe(far, now: 0).hasSuffix("(cooling down for 18446744074s)"))
        let past = BackendCooldowns.Entry(until: 5 * second, reason: "x")
        #expect(BackendCooldowns.describe(past, now: 6 * second) == "x (cooling down for 0s)")
    }
}
