// SPDX-License-Identifier: Apache-2.0
// A waiting request's `queue_timeout` (SPEC §4), or the moment a candidate out for a stated
// time is back: the request hears of it, unless it ended meanwhile (weak: a timer must not
// keep a request alive). Made only when a request has to wait, which the common request never
// does. Loop-confined.
import TollgateIO

final class SlotWaitTimer: TimerHandler {
    private weak var waiter: ProxyExchange?
    /// Not the end of the wait: a candidate out for a stated time is back (`slotRecheckDue`).
    private let recheck: Bool

    init(waiter: ProxyExchange, recheck: Bool = false) {
        self.waiter = waiter
        self.recheck = recheck
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        if recheck { waiter?.slotRecheckDue() } else { waiter?.slotWaitExpired() }
    }
}
