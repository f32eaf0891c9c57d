// SPDX-License-Identifier: Apache-2.0
// The timer heap and the lazy per-owner slot, driven with explicit times (no clock, no sleep).
import Testing
@testable import TollgateIO
import TollgateCore

private final class Recorder: TimerHandler {
    var fired: [UInt64] = []
    func timerFired(deadline: UInt64, now: UInt64) { fired.append(deadline) }
}

struct TimerQueueTests {
    @Test func popsInDeadlineOrderThenFIFO() {
        var queue = TimerQueue()
        let r = Recorder()
        for d: UInt64 in [50, 10, 30, 10, 20] { queue.push(r, at: d) }
        var order: [UInt64] = []
        while let entry = queue.popDue(now: 100) { order.append(entry.deadline) }
        #expect(order == [10, 10, 20, 30, 50])
        #expect(queue.isEmpty)
    }

    @Test func aFiredTokenNobodyKeptIsReusedAndOneStillHeldIsNot() {
        var queue = TimerQueue()
        let r = Recorder()
        let firstID: ObjectIdentifier
        do {
            queue.push(r, at: 10)
            var fired = queue.popDue(now: 10)!
            firstID = ObjectIdentifier(fired)
            queue.recycle(&fired)
            #expect(fired.handler == nil)
        }
        let reused = queue.push(r, at: 20)
        #expect(ObjectIdentifier(reused) == firstID)
        #expect(reused.deadline == 20 && reused.isPending)

        var held = queue.popDue(now: 20)!
        let kept = held                       // an owner still holds this token
        queue.recycle(&held)
        let fresh = queue.push(r, at: 30)
        #expect(fresh !== kept)
        #expect(!kept.isPending && kept.handler == nil)
    }

    @Test func nothingBeforeItsDeadline() {
        var queue = TimerQueue()
        queue.push(Recorder(), at: 100)
        #expect(queue.popDue(now: 99) == nil)
        #expect(queue.popDue(now: 100) != nil)
    }

    @Test func cancelRemovesAnyEntryAndReleasesItsHandler() {
        var queue = TimerQueue()
        var tokens: [TimerToken] = []
        var generator = SplitMix64(seed: 42)
        for _ in 0..<200 { tokens.append(queue.push(Recorder(), at: generator.next() % 1000)) }
        for (i, token) in tokens.enumerated() where i % 3 == 0 { queue.cancel(token) }
        #expect(tokens.enumerated().allSatisfy { $0.offset % 3 != 0 || ($0.element.handler == nil && !$0.element.isPending) })
        var last: UInt64 = 0
        var count = 0
        while let entry = queue.popDue(now: .max) {
            #expect(entry.deadline >= last)
            last = entry.deadline
            count += 1
        }
        #expect(count == 200 - 67)
        queue.cancel(tokens[1])  // already fired: a no-op
    }
}
