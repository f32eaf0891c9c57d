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
        if let waiting { budget.withdraw(waiting.ticket) }
        budget.release(reserved)
        if let giveUpTimer { loop.cancel(giveUpTimer) }
    }

    var capacity: Int { budget.capacity }
    var isWaiting: Bool { waiting != nil }

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
        guard let pending = waiting else { return }
        waiting = nil
        budget.withdraw(pending.ticket)
        pending.gaveUp()
    }

    /// Gives back what is reserved beyond `bytes` (the request needs less from now on).
    func shrink(to bytes: Int) {
        guard bytes < reserved else { return }
        budget.release(reserved - bytes)
        reserved = max(bytes, 0)
    }

    /// Gives everything back now (the request ended; `deinit` would do it later).
    func releaseAll() {
        if let waiting { budget.withdraw(waiting.ticket) }
        waiting = nil
        if let giveUpTimer { loop.cancel(giveUpTimer) }
        giveUpTimer = nil
        budget.release(reserved)
        reserved = 0
    }

    func bodyBudgetGranted(ticket: UInt64, bytes: Int) -> Bool {
        // A grant for a wait this lease already gave up (withdrawn too late) is not ours.
        guard let pending = waiting, pending.ticket == ticket else { return false }
        waiting = nil
        if let giveUpTimer { loop.cancel(giveUpTimer) }
        giveUpTimer = nil
        reserved += bytes
        pending.granted()
        return true
    }
}
