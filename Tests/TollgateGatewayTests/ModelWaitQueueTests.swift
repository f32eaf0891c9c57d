// SPDX-License-Identifier: Apache-2.0
// A model's wait line (SPEC §4: FIFO, bounded): called in arrival order on the waiter's own
// loop, a called request that found nothing free goes back to the front, a withdrawn ticket
// is never called, a full line refuses, a waiter that went away is skipped (its call passes
// to the next), and the board's total of waiting requests follows every change.
import Synchronization
import Testing
import TollgateTestSupport
@testable import TollgateGateway
import TollgateIO
import TollgateBackends

/// A request's stand-in: logs each call with its ticket.
final class LineWaiter: SlotWaiter, @unchecked Sendable {
    let loop: EventLoop
    let name: String
    let log: GrantLog
    private let tickets = Mutex<[UInt64]>([])
    init(_ name: String, loop: EventLoop, log: GrantLog) {
        self.name = name
        self.loop = loop
        self.log = log
    }
    func slotMayBeFree(ticket: UInt64, backend: String?) {
        tickets.withLock { $0.append(ticket) }
        log.append(name)
    }
    var calledTickets: [UInt64] { tickets.withLock { $0 } }
}

@Suite(.serialized)
struct ModelWaitQueueTests {
    private func calls(_ log: GrantLog, count: Int) -> [String] {
        _ = eventually { log.withLock { $0.count >= count } }
        return log.withLock { $0 }
    }

    /// A slot freed on a backend a waiter already failed on is no use to it: it keeps its
    /// place, and the first waiter that can use the slot is called (no head-of-line block).
    @Test func aFreedSlotCallsTheFirstWaiterThatCanUseIt() throws {
        try withRunningLoop { loop in
            let log = GrantLog()
            let queue = ModelWaitQueue(capacity: 8)
            let failedOnA = LineWaiter("failedOnA", loop: loop, log: log)
            let fresh = LineWaiter("fresh", loop: loop, log: log)
            _ = try #require(queue.enqueue(failedOnA, tried: ["a"]))
            _ = try #require(queue.enqueue(fresh))
            #expect(queue.wakeOne(for: "a"))
            #expect(calls(log, count: 1) == ["fresh"])
            #expect(queue.waiting == 1)
            // Nobody left who can use `a`: nobody is called, the waiter keeps its place.
            #expect(!queue.wakeOne(for: "a"))
            #expect(queue.waiting == 1)
            // A slot of `b` is its.
            #expect(queue.wakeOne(for: "b"))
            #expect(calls(log, count: 2) == ["fresh", "failedOnA"])
            #expect(queue.waiting == 0)
            withExtendedLifetime((failedOnA, fresh)) {}
        }
    }

    @Test func waitersAreCalledInArrivalOrderWithTheirTickets() throws {
        try withRunningLoop { loop in
            let log = GrantLog()
            let queue = ModelWaitQueue(capacity: 8)
            let a = LineWaiter("a", loop: loop, log: log)
            let b = LineWaiter("b", loop: loop, log: log)
            let c = LineWaiter("c", loop: loop, log: log)
            let ta = try #require(queue.enqueue(a))
            let tb = try #require(queue.enqueue(b))
            _ = try #require(queue.enqueue(c))
            #expect(queue.waiting == 3)
            queue.wakeOne()
            queue.wakeOne()
            #expect(calls(log, count: 2) == ["a", "b"])
            #expect(a.calledTickets == [ta] && b.calledTickets == [tb])
            #expect(queue.waiting == 1)
            // Nothing more is called than was asked for.
            #expect(c.calledTickets.isEmpty)
        }
    }

    @Test func aCalledWaiterThatFoundNothingGoesBackToTheFront() throws {
        try withRunningLoop { loop in
            let log = GrantLog()
            let queue = ModelWaitQueue(capacity: 8)
            let a = LineWaiter("a", loop: loop, log: log)
            let b = LineWaiter("b", loop: loop, log: log)
            _ = queue.enqueue(a)
            _ = queue.enqueue(b)
            queue.wakeOne()
            #expect(calls(log, count: 1) == ["a"])
            // a found every slot taken again: it keeps its place ahead of b.
            let again = queue.requeueFront(a)
            #expect(again != a.calledTickets[0])
            #expect(queue.waiting == 2)
            queue.wakeOne()
            #expect(calls(log, count: 2) == ["a", "a"])
            #expect(a.calledTickets.last == again)
            queue.wakeOne()
            #expect(calls(log, count: 3) == ["a", "a", "b"])
        }
    }

    @Test func requeueFrontIntoAnEmptyLine() throws {
        try withRunningLoop { loop in
            let log = GrantLog()
            let queue = ModelWaitQueue(capacity: 1)
            let a = LineWaiter("a", loop: loop, log: log)
            _ = queue.requeueFront(a)
            #expect(queue.waiting == 1)
            queue.wakeOne()
            #expect(calls(log, count: 1) == ["a"])
            #expect(queue.waiting == 0)
        }
    }

    @Test func aWithdrawnTicketIsNeverCalled() throws {
        try withRunningLoop { loop in
            let log = GrantLog()
            let queue = ModelWaitQueue(capacity: 8)
            let a = LineWaiter("a", loop: loop, log: log)
            let b = LineWaiter("b", loop: loop, log: log)
            let ta = try #require(queue.enqueue(a))
            _ = queue.enqueue(b)
            #expect(queue.withdraw(ta))
            #expect(!queue.withdraw(ta))
            #expect(queue.waiting == 1)
            queue.wakeOne()
            #expect(calls(log, count: 1) == ["b"])
            // A ticket already called cannot be withdrawn.
            #expect(!queue.withdraw(b.calledTickets[0]))
            #expect(queue.waiting == 0)
        }
    }

    @Test func aFullLineRefusesAndTakesAgainOnceThereIsRoom() throws {
        try withRunningLoop { loop in
            let log = GrantLog()
            let queue = ModelWaitQueue(capacity: 2)
            let waiters = (0..<3).map { LineWaiter("w\($0)", loop: loop, log: log) }
            #expect(queue.enqueue(waiters[0]) != nil)
            #expect(queue.enqueue(waiters[1]) != nil)
            #expect(queue.enqueue(waiters[2]) == nil)
            #expect(queue.waiting == 2)
            queue.wakeOne()
            #expect(calls(log, count: 1) == ["w0"])
            #expect(queue.enqueue(waiters[2]) != nil)
        }
    }

    @Test func aCapacityBelowOneIsOne() {
        #expect(ModelWaitQueue(capacity: 0).capacity == 1)
        #expect(ModelWaitQueue(capacity: -5).capacity == 1)
    }

    @Test func aWaiterThatWentAwayIsSkippedAndTheCallGoesToTheNext() throws {
        try withRunningLoop { loop in
            let log = GrantLog()
            let board = BackendBoard()
            let queue = ModelWaitQueue(capacity: 8, board: board)
            let kept = LineWaiter("kept", loop: loop, log: log)
            do {
                let gone = LineWaiter("gone", loop: loop, log: log)
                _ = queue.enqueue(gone)
            }
            _ = queue.enqueue(kept)
            #expect(queue.waiting == 2)
            #expect(board.waiting.load(ordering: .relaxed) == 2)
            queue.wakeOne()
            #expect(calls(log, count: 1) == ["kept"])
            #expect(queue.waiting == 0)
            #expect(board.waiting.load(ordering: .relaxed) == 0)
            // Only gone ones left: a call finds nobody and the line is empty.
            do {
                let gone = LineWaiter("gone2", loop: loop, log: log)
                _ = queue.enqueue(gone)
            }
            queue.wakeOne()
            #expect(queue.waiting == 0)
            #expect(log.withLock { $0 } == ["kept"])
        }
    }

    @Test func theBoardCountsTheWaitersOfEveryLine() throws {
        try withRunningLoop { loop in
            let log = GrantLog()
            let board = BackendBoard()
            let chat = ModelWaitQueue(capacity: 8, board: board)
            let embed = ModelWaitQueue(capacity: 8, board: board)
            let waiters = (0..<4).map { LineWaiter("w\($0)", loop: loop, log: log) }
            let t0 = try #require(chat.enqueue(waiters[0]))
            _ = chat.enqueue(waiters[1])
            _ = embed.enqueue(waiters[2])
            #expect(board.waiting.load(ordering: .relaxed) == 3)
            chat.withdraw(t0)
            #expect(board.waiting.load(ordering: .relaxed) == 2)
            _ = embed.requeueFront(waiters[3])
            #expect(board.waiting.load(ordering: .relaxed) == 3)
            embed.wakeOne()
            embed.wakeOne()
            chat.wakeOne()
            #expect(calls(log, count: 3).sorted() == ["w1", "w2", "w3"])
            #expect(board.waiting.load(ordering: .relaxed) == 0)
            #expect(chat.waiting == 0 && embed.waiting == 0)
        }
    }

    /// Many waiters through the line: the storage behind the head is reclaimed and order holds.
    @Test func aLongLineKeepsItsOrderThroughCompaction() throws {
        try withRunningLoop { loop in
            let log = GrantLog()
            let queue = ModelWaitQueue(capacity: 500)
            let waiters = (0..<300).map { LineWaiter(String($0), loop: loop, log: log) }
            for w in waiters[..<200] { _ = queue.enqueue(w) }
            for _ in 0..<150 { queue.wakeOne() }
            for w in waiters[200...] { _ = queue.enqueue(w) }
            #expect(queue.waiting == 150)
            for _ in 0..<150 { queue.wakeOne() }
            #expect(calls(log, count: 300) == waiters.map(\.name))
            #expect(queue.waiting == 0)
        }
    }
}

/// The board's side of the lines: a freed slot calls the head of a line of a model that uses
/// the backend (and nothing when none waits); a woken backend calls as many as it has slots;
/// each model's line is sized from its candidates' slots, bounded.
@Suite(.serialized)
struct BoardLineTests {
    private func plan(maxConcurrency: [Int]) -> [BackendPlan] {
        let kind = SimulatedKind(options: SimulatedBackendOptions(name: "sim"))
        return maxConcurrency.enumerated().map {
            BackendPlan(name: "b\($0.offset)", kind: kind, upstreamModel: nil, firstByteTimeoutNs: 1_000_000_000,
                        costModel: .free, routing: BackendRouting(maxConcurrency: $0.element))
        }
    }

    @Test func aFreedSlotCallsTheLineOfAModelThatUsesTheBackend() throws {
        try withRunningLoop { loop in
            let log = GrantLog()
            let backends = plan(maxConcurrency: [1, 1])
            let models = [ModelPlan(name: "x", task: .chat, backends: [0], attempts: 1),
                          ModelPlan(name: "y", task: .chat, backends: [1], attempts: 1)]
            let tables = BackendBoard().bind(backends: backends, models: models, nowNs: 0)
            let onX = LineWaiter("on-x", loop: loop, log: log)
            let onY = LineWaiter("on-y", loop: loop, log: log)
            _ = tables.models[0].queue.enqueue(onX)
            _ = tables.models[1].queue.enqueue(onY)
            #expect(tables.board.waiting.load(ordering: .relaxed) == 2)
            // Backend 1 serves only y: x's waiter stays.
            tables.slotFreed(1)
            #expect(eventually { log.withLock { $0 } == ["on-y"] })
            #expect(tables.models[0].queue.waiting == 1)
            tables.slotFreed(0)
            #expect(eventually { log.withLock { $0 } == ["on-y", "on-x"] })
            // None waiting: nothing happens, and an index the plan lacks is no trap.
            tables.slotFreed(0)
            tables.slotFreed(7)
            tables.backendWoke(-1)
            #expect(tables.board.waiting.load(ordering: .relaxed) == 0)
        }
    }

    @Test func aWokenBackendCallsAsManyWaitersAsItHasSlots() throws {
        try withRunningLoop { loop in
            let log = GrantLog()
            let tables = BackendBoard().bind(backends: plan(maxConcurrency: [2]),
                                             models: [ModelPlan(name: "m", task: .chat, backends: [0], attempts: 1)], nowNs: 0)
            let waiters = (0..<3).map { LineWaiter("w\($0)", loop: loop, log: log) }
            for w in waiters { _ = tables.models[0].queue.enqueue(w) }
            tables.backendWoke(0)
            #expect(eventually { log.withLock { $0.count } == 2 })
            #expect(log.withLock { $0 } == ["w0", "w1"])
            #expect(tables.models[0].queue.waiting == 1)
        }
    }

    /// A reload that changes the line's size (its candidates' slots) must keep the line, and
    /// who waits in it: the new plan's requests free the slots they wait for. (A new line would
    /// strand them: called by nobody once the old plan's requests are done, 503 after their
    /// queue_timeout with slots free, and passed by every newcomer.)
    @Test func aReloadThatResizesTheLineKeepsItsWaiters() throws {
        try withRunningLoop { loop in
            let log = GrantLog()
            let board = BackendBoard()
            let model = ModelPlan(name: "m", task: .chat, backends: [0], attempts: 1)
            let before = board.bind(backends: plan(maxConcurrency: [20]), models: [model], nowNs: 0)
            let waiter = LineWaiter("w", loop: loop, log: log)
            _ = try #require(before.models[0].queue.enqueue(waiter))
            let after = board.bind(backends: plan(maxConcurrency: [21]), models: [model], nowNs: 0)
            #expect(after.models[0].queue.capacity == 84)
            #expect(after.models[0].queue.waiting == 1)
            after.slotFreed(0)
            #expect(eventually { log.withLock { $0 } == ["w"] })
        }
    }

    @Test func aLineHoldsFourTimesTheSlotsBetween64And4096() {
        let backends = plan(maxConcurrency: [4, 8, 2_000])
        #expect(BackendBoard.queueCapacity(ModelPlan(name: "m", task: .chat, backends: [0], attempts: 1), backends: backends) == 64)
        #expect(BackendBoard.queueCapacity(ModelPlan(name: "m", task: .chat, backends: [0, 1], attempts: 1), backends: backends) == 64)
        #expect(BackendBoard.queueCapacity(ModelPlan(name: "m", task: .chat, backends: [1, 1, 1], attempts: 1), backends: backends) == 96)
        #expect(BackendBoard.queueCapacity(ModelPlan(name: "m", task: .chat, backends: [2], attempts: 1), backends: backends) == 4_096)
        #expect(BackendBoard.queueCapacity(ModelPlan(name: "m", task: .chat, backends: [9], attempts: 1), backends: backends) == 64)
    }
}
