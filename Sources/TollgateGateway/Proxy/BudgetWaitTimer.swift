// SPDX-License-Identifier: Apache-2.0
// The limit on one wait for body budget (BodyBudgetLease): when it passes, the waiting request
// hears of it, unless it ended meanwhile (weak: a timer must not keep a request alive). Made
// only when a request has to wait, which the common request never does. Loop-confined.
import TollgateIO

final class BudgetWaitTimer: TimerHandler {
    private weak var holder: (any BodyBudgetWaiter)?
    private let ticket: UInt64

    init(holder: any BodyBudgetWaiter, ticket: UInt64) {
        self.holder = holder
        self.ticket = ticket
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        holder?.bodyBudgetWaitExpired(ticket: ticket)
    }
}
