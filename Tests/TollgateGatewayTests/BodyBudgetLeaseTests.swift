// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
import TollgateTestSupport
@testable import TollgateGateway
import TollgateIO

@Suite(.serialized)
struct BodyBudgetLeaseTests {
    @Test func aWaitForMoreGivesUpAtItsLimitAndLeavesNothingBehind() throws {
        try withRunningLoop { loop in
            let budget = RequestBodyBudget(capacity: 100)
            let log = GrantLog()
            let keep = LeaseKeeper()
            loop.execute { keep.start(budget: budget, loop: loop, log: log) }
            _ = eventually { log.withLock { $0.count >= 3 } }
            #expect(log.withLock { $0 } == ["holder granted at once", "waiter queued", "waiter gave up"])
            #expect(budget.reserved == 100)   // the holder's; the waiter took nothing
            // A lease gives everything back when its holder goes, however the request ended.
            loop.execute { keep.holders = [] }
            #expect(eventually { budget.reserved == 0 })
        }
    }
}
