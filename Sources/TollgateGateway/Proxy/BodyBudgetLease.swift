// SPDX-License-Identifier: Apache-2.0
// One request's share of `server.max_buffered` (RequestBodyBudget): what it reserved, a wait in
// the budget's queue when it asked for more than was free, and the release of everything when
// the request is over. A noncopyable value inside the request's own object (no object of its
// own): it cannot be copied, so nothing is released twice, and releasing lives in `deinit`,
// so a reservation cannot outlive its request whatever way the request ends. Its holder is
// the budget's waiter and hears of grants and of a wait given up. Loop-confined.
import TollgateIO

struct BodyBudgetLease: ~Copyable {
    private let budget: RequestBodyBudget
    private let loop: EventLoop
    /// Bytes this request may hold.
    private(set) var reserved = 0
    /// A request for more that waits in the budget's queue.
    private var waiting: (ticket: UInt64, bytes: Int)?
    private var giveUpTimer: TimerToken?

    init(budget: RequestBodyBudget, loop: EventLoop) {
        self.budget = budget
        self.loop = loop
    }

    deinit {
        if let waiting { budget.withdraw(waiting.ticket) }
        if let giveUpTimer { loop.cancel(giveUpTimer) }
        budget.release(reserved)
    }

    var capacity: Int { budget.capacity }
    var isWaiting: Bool { waiting != nil }

    /// Asks for `bytes` more (at most the budget's capacity in all). True when they are
    /// reserved now; otherwise `holder` hears `bodyBudgetGranted` on this loop once they are —
    /// or, if `limitNs` passes first, `bodyBudgetWaitExpired`, and then `giveUp` withdraws the
    /// wait. A request that already holds bytes and waits for more must not wait forever:
    /// every holder waiting for every other (chunked bodies whose `model` comes last) would
    /// never end.
    mutating func grow(by bytes: Int, for holder: any BodyBudgetWaiter, limitNs: UInt64 = 0) -> Bool {
        let amount = min(bytes, budget.capacity - reserved)
        guard amount > 0, waiting == nil else { return amount <= 0 }
        if let ticket = budget.reserve(amount, for: holder) {
            waiting = (ticket, amount)
            if limitNs > 0 { giveUpTimer = loop.schedule(BudgetWaitTimer(holder: holder, ticket: ticket), at: loop.now + limitNs) }
            return false
        }
        reserved += amount
        return true
    }

    /// Makes the reservation at least `total` bytes if the budget has the difference free now,
    /// never waiting: a reply held for its figures streams instead when memory is short.
    /// Grows in steps of `holdStep` so a reply arriving in small pieces does not take the
    /// budget's lock for each.
    mutating func tryGrow(toHold total: Int) -> Bool {
        guard total > reserved else { return true }
        guard waiting == nil, total <= budget.capacity else { return false }
        let step = min(max(total - reserved, Self.holdStep), budget.capacity - reserved)
        guard budget.tryReserve(step) else { return false }
        reserved += step
        return true
    }

    static let holdStep = 1 << 20

    /// The budget granted the wait with `ticket`; false when it is not this lease's (it gave
    /// up meanwhile), and the bytes go back.
    mutating func granted(ticket: UInt64, bytes: Int) -> Bool {
        guard waiting?.ticket == ticket else { return false }
        endWait()
        reserved += bytes
        return true
    }

    /// The wait with `ticket` passed its limit: withdrawn. False when it had already ended.
    mutating func giveUp(ticket: UInt64) -> Bool {
        guard waiting?.ticket == ticket else { return false }
        endWait()
        budget.withdraw(ticket)
        return true
    }

    private mutating func endWait() {
        waiting = nil
        if let giveUpTimer { loop.cancel(giveUpTimer) }
        giveUpTimer = nil
    }

    /// Gives back what is reserved beyond `bytes` (the request needs less from now on).
    mutating func shrink(to bytes: Int) {
        guard bytes < reserved else { return }
        budget.release(reserved - max(bytes, 0))
        reserved = max(bytes, 0)
    }

    /// Gives everything back now (the request ended; `deinit` would do it later).
    mutating func releaseAll() {
        if let waiting {
            endWait()
            budget.withdraw(waiting.ticket)
        }
        budget.release(reserved)
        reserved = 0
    }
}
