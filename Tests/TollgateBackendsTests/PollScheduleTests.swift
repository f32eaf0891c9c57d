// SPDX-License-Identifier: Apache-2.0
// PollSchedule: 250 ms, ×1.5 each time, at most 5 s; never past the deadline or the count.
import Testing
@testable import TollgateBackends

struct PollScheduleTests {
    private let ms: UInt64 = 1_000_000

    @Test func waitsGrowByHalfUpToFiveSeconds() {
        var schedule = PollSchedule(deadline: 1_000_000 * ms, maxPolls: 100)
        var now: UInt64 = 0
        var waits: [UInt64] = []
        for _ in 0..<12 {
            guard let due = schedule.next(now: now) else { break }
            waits.append((due - now) / ms)
            now = due
        }
        #expect(waits == [250, 375, 562, 843, 1265, 1898, 2847, 4271, 5000, 5000, 5000, 5000])
        #expect(schedule.polls == 12)
    }

    @Test func theDeadlineBoundsTheLastPoll() {
        var schedule = PollSchedule(deadline: 1000 * ms, maxPolls: 100)
        #expect(schedule.next(now: 0) == 250 * ms)
        #expect(schedule.next(now: 250 * ms) == 625 * ms)
        #expect(schedule.next(now: 625 * ms) == 1000 * ms)  // 1187 ms is past the deadline
        #expect(schedule.next(now: 1000 * ms) == nil)
        #expect(schedule.isExpired(now: 1000 * ms) && !schedule.isExpired(now: 999 * ms))
    }

    @Test func theCountBoundsThePolls() {
        var schedule = PollSchedule(deadline: .max, maxPolls: 3)
        var now: UInt64 = 5
        var count = 0
        while let due = schedule.next(now: now) {
            count += 1
            now = due
        }
        #expect(count == 3)
        var none = PollSchedule(deadline: .max, maxPolls: -1)
        #expect(none.next(now: 0) == nil)
    }

    @Test func aClockNearItsEndNeverOverflows() {
        var schedule = PollSchedule(deadline: .max, maxPolls: 2)
        #expect(schedule.next(now: .max - 10) == .max)
        var custom = PollSchedule(deadline: .max, maxPolls: 4, firstDelay: .seconds(1), maxDelay: .milliseconds(10))
        // A maximum below the first wait: the first wait is the maximum.
        #expect(custom.next(now: 0) == 1000 * ms && custom.next(now: 0) == 1000 * ms)
    }
}
