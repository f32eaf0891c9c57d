// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
import TollgateTestSupport
@testable import TollgateGateway
import TollgateIO

final class GrantLog: Sendable {
    private let names = Mutex<[String]>([])
    func append(_ name: String) { names.withLock { $0.append(name) } }
    func withLock<R>(_ body: ([String]) -> R) -> R { names.withLock { body($0) } }
}

final class RecordingWaiter: BodyBudgetWaiter, @unchecked Sendable {
    let loop: EventLoop
    let name: String
    let log: GrantLog
    init(_ name: String, loop: EventLoop, log: GrantLog) {
        self.name = name
        self.loop = loop
        self.log = log
    }
    func bodyBudgetGranted(ticket: UInt64, bytes: Int) -> Bool {
        log.append(name)
        return true
    }
    func bodyBudgetWaitExpired(ticket: UInt64) {}
}

@Suite(.serialized)
struct RequestBodyBudgetTests {
    func waitFor(_ log: GrantLog, count: Int) -> [String] {
        _ = eventually { log.withLock { $0.count >= count } }
        return log.withLock { $0 }
    }

    @Test func grantsInArrivalOrderAndNeverBeyondTheCapacity() throws {
        try withRunningLoop { loop in
            let log = GrantLog()
            let a = RecordingWaiter("a", loop: loop, log: log)
            let b = RecordingWaiter("b", loop: loop, log: log)
            let c = RecordingWaiter("c", loop: loop, log: log)
            let budget = RequestBodyBudget(capacity: 300_000)
            #expect(budget.reserve(200_000, for: a) == nil)
            #expect(budget.reserve(150_000, for: b) != nil)
            // 70 KB would fit, but b came first: no overtaking by a large body ...
            #expect(budget.reserve(70_000, for: c) != nil)
            // ... while a small one that fits goes ahead (chat keeps flowing during an upload).
            let small = RecordingWaiter("small", loop: loop, log: log)
            #expect(budget.reserve(1_000, for: small) == nil)
            #expect(budget.reserved == 201_000)
            budget.release(200_000)
            #expect(waitFor(log, count: 2) == ["b", "c"])
            #expect(budget.reserved == 221_000)
            budget.release(221_000)
            #expect(budget.reserved == 0)
        }
    }

    @Test func aWithdrawnWaiterLetsTheNextOneIn() throws {
        try withRunningLoop { loop in
            let budget = RequestBodyBudget(capacity: 500_000)
            let log = GrantLog()
            let a = RecordingWaiter("a", loop: loop, log: log)
            let big = RecordingWaiter("big", loop: loop, log: log)
            let next = RecordingWaiter("next", loop: loop, log: log)
            #expect(budget.reserve(250_000, for: a) == nil)
            let ticket = try #require(budget.reserve(400_000, for: big))
            #expect(budget.reserve(200_000, for: next) != nil)   // fits, but behind big
            budget.withdraw(ticket)  // the big one's client went away
            #expect(waitFor(log, count: 1) == ["next"])
            #expect(budget.reserved == 450_000)
        }
    }

    @Test func aRequestLargerThanTheCapacityIsCappedNotStuck() throws {
        try withRunningLoop { loop in
            let budget = RequestBodyBudget(capacity: 100)
            let log = GrantLog()
            #expect(budget.reserve(1_000, for: RecordingWaiter("huge", loop: loop, log: log)) == nil)
            #expect(budget.reserved == 100)
        }
    }

    @Test func aGrantForAWaiterThatIsGoneIsGivenBack() throws {
        try withRunningLoop { loop in
            let budget = RequestBodyBudget(capacity: 100)
            let log = GrantLog()
            let holder = RecordingWaiter("holder", loop: loop, log: log)
            #expect(budget.reserve(100, for: holder) == nil)
            do {
                let gone = RecordingWaiter("gone", loop: loop, log: log)
                #expect(budget.reserve(30, for: gone) != nil)
            }
            budget.release(100)
            #expect(eventually { budget.reserved == 0 })
            #expect(log.withLock { $0 }.isEmpty)
        }
    }
}

/// A request's stand-in: holds its lease and logs what the budget tells it.
final class LeaseHolder: BodyBudgetWaiter, @unchecked Sendable {
    let loop: EventLoop
    let name: String
    let log: GrantLog
    var lease: BodyBudgetLease

    init(_ name: String, budget: RequestBodyBudget, loop: EventLoop, log: GrantLog) {
        self.name = name
        self.loop = loop
        self.log = log
        self.lease = BodyBudgetLease(budget: budget, loop: loop)
    }

    func bodyBudgetGranted(ticket: UInt64, bytes: Int) -> Bool {
        guard lease.granted(ticket: ticket, bytes: bytes) else { return false }
        log.append("\(name) granted")
        return true
    }

    func bodyBudgetWaitExpired(ticket: UInt64) {
        if lease.giveUp(ticket: ticket) { log.append("\(name) gave up") }
    }
}

/// Makes and keeps the leases on the loop (they are loop-confined).
final class LeaseKeeper: @unchecked Sendable {
    var holders: [LeaseHolder] = []
    func start(budget: RequestBodyBudget, loop: EventLoop, log: GrantLog) {
        let holder = LeaseHolder("holder", budget: budget, loop: loop, log: log)
        if holder.lease.grow(by: 100, for: holder) { log.append("holder granted at once") }
        let waiter = LeaseHolder("waiter", budget: budget, loop: loop, log: log)
        if !waiter.lease.grow(by: 50, for: waiter, limitNs: 30_000_000) { log.append("waiter queued") }
        holders = [holder, waiter]
    }
}
