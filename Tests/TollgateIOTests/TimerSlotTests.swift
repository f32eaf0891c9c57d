// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import TollgateIO
import TollgateCore

struct TimerSlotTests {
    @Test func movingTheDeadlineLaterNeedsNoNewEntry() {
        var slot = TimerSlot()
        #expect(slot.set(100) == 100)
        #expect(slot.set(200) == nil)          // the entry at 100 will re-arm
        #expect(slot.fired(entryDeadline: 100, now: 100) == .reschedule(200))
        #expect(slot.fired(entryDeadline: 200, now: 200) == .expired)
    }

    @Test func movingItEarlierSchedulesAnEarlierEntry() {
        var slot = TimerSlot()
        #expect(slot.set(200) == 200)
        #expect(slot.set(100) == 100)
        #expect(slot.fired(entryDeadline: 100, now: 100) == .expired)
        #expect(slot.fired(entryDeadline: 200, now: 200) == .ignore)   // stale entry
    }

    @Test func clearedSlotIgnoresItsEntry() {
        var slot = TimerSlot()
        _ = slot.set(100)
        slot.clear()
        #expect(slot.fired(entryDeadline: 100, now: 150) == .ignore)
    }
}
