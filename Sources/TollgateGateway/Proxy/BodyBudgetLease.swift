// SPDX-License-Identifier: Apache-2.0
// One request's share of `server.max_buffered` (RequestBodyBudget): what it reserved, a wait in
// the budget's queue when it asked for more than was free, and the release of everything when
// the request is over. Releasing lives in `deinit`, so a reservation cannot outlive its request
// whatever way the request ends. Loop-confined.
import TollgateIO

final class BodyBudgetLease: BodyBudgetWaiter, TimerHandler {
    let loop: EventLoop
    private let budget: RequestBodyBudget
    /// Bytes this request may hold.
    private(set) var reserved = 0
    /// A request for more that waits in the budget's queue.
    private var waiting: (ticket: UInt64, bytes: Int, granted: () -> Void, gaveUp: () -> Void)?
    private var giveUpTimer: TimerToken?

    init(budget: RequestBodyBudget, loop: EventLoop) {
        self.budget = budget
        self.loop = loop
    }

    deinit {
        releaseAll()
    }

    var capacity: Int { budget.capacity }

    /// Asks for `bytes` more (at most the budget's capacity in all). True when they are
    /// reserved now; otherwise `granted` runs on this loop once they are — or, if `limitNs`
    /// passes first, the wait is withdrawn and `gaveUp` runs instead. A request that already
    /// holds bytes and waits for more must not wait forever: every holder waiting for every
    /// other (chunked bodies whose `model` comes last) would never end.
    func grow(by bytes: Int, limitNs: UInt64 = 0, then granted: @escaping () -> Void,
              gaveUp: @escaping () -> Void = {}) -> Bool {
        let amount = min(bytes, budget.capacity - reserved)
        guard amount > 0, waiting == nil else { return amount <= 0 }
        if let ticket = budget.reserve(amount, for: self) {
            waiting = (ticket, amount, granted, gaveUp)
            if limitNs > 0 { giveUpTimer = loop.schedule(self, at: loop.now + limitNs) }
            return false
        }
        reserved += amount
        return true
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        giveUpTimer = nil
        guard let pending = takeWait() else { return }
        budget.withdraw(pending.ticket)
        pending.gaveUp()
    }

    /// Ends the wait, if any, and its give-up timer; the caller decides what becomes of it.
    private func takeWait() -> (ticket: UInt64, bytes: Int, granted: () -> Void, gaveUp: () -> Void)? {
        guard let pending = waiting else { return nil }
        waiting = nil
        if let giveUpTimer { loop.cancel(giveUpTimer) }
        giveUpTimer = nil
        return pending
    }

    /// Gives back what is reserved beyond `bytes` (the request needs less from now on).
    func shrink(to bytes: Int) {
        guard bytes < reserved else { return }
        budget.release(reserved - bytes)
        reserved = max(bytes, 0)
    }

    /// Gives everything back now (the request ended; `deinit` would do it later).
    func releaseAll() {
        if let pending = takeWait() { budget.withdraw(pending.ticket) }
        budget.release(reserved)
        reserved = 0
    }

    func bodyBudgetGranted(ticket: UInt64, bytes: Int) -> Bool {
        // A grant for a wait this lease already gave up (withdrawn too late) is not ours.
        guard waiting?.ticket == ticket, let pending = takeWait() else { return false }
        reserved += bytes
        pending.granted()
        return true
    }
}
