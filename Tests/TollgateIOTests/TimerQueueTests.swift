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

/// A cancelled token is reused once its owner dropped it, never while the owner still holds
/// it (cancelling it again must not cancel someone else's timer).
@Test func aCancelledTokenIsReusedOnlyOnceItsOwnerLetGo() {
    var queue = TimerQueue()
    let r = Recorder()
    let droppedID: ObjectIdentifier
    do {
        let token = queue.push(r, at: 10)
        droppedID = ObjectIdentifier(token)
        queue.cancel(token)
    }
    let reused = queue.push(r, at: 20)
    #expect(ObjectIdentifier(reused) == droppedID)
    #expect(reused.isPending && reused.deadline == 20 && reused.handler != nil)

    let held = queue.push(r, at: 30)
    queue.cancel(held)                        // the owner keeps its token
    let other = queue.push(r, at: 40)
    #expect(other !== held)
    queue.cancel(held)                        // a second cancel by the old owner: a no-op
    #expect(other.isPending)
    var order: [UInt64] = []
    while let entry = queue.popDue(now: .max) { order.append(entry.deadline) }
    #expect(order == [20, 40])
}

/// Random pushes, cancels and pops against a plain sorted model: the heap's order, its
/// index bookkeeping and the reuse of tokens agree with it.
@Test func heapAgreesWithASortedModel() {
    var queue = TimerQueue()
    let r = Recorder()
    var generator = SplitMix64(seed: 99)
    var live: [(deadline: UInt64, sequence: Int, token: TimerToken)] = []
    var sequence = 0
    var now: UInt64 = 0
    for _ in 0..<5000 {
        switch generator.next() % 4 {
        case 0, 1:
            sequence += 1
            let deadline = now + generator.next() % 500
            live.append((deadline, sequence, queue.push(r, at: deadline)))
        case 2 where !live.isEmpty:
            let victim = live.remove(at: Int(generator.next() % UInt64(live.count)))
            queue.cancel(victim.token)
            #expect(!victim.token.isPending)
        default:
            now += generator.next() % 100
            live.sort { ($0.deadline, $0.sequence) < ($1.deadline, $1.sequence) }
            while let first = live.first, first.deadline <= now {
                live.removeFirst()
                let popped = queue.popDue(now: now)
                #expect(popped === first.token)
            }
            #expect(queue.popDue(now: now) == nil)
        }
        #expect(queue.count == live.count)
        #expect(live.allSatisfy { $0.token.isPending })
    }
}
