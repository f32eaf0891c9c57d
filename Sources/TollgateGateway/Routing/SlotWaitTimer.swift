// SPDX-License-Identifier: Apache-2.0
// A waiting request's `queue_timeout` (SPEC §4): when it passes, the request hears of it,
// unless it ended meanwhile (weak: a timer must not keep a request alive). Made only when a
// request has to wait, which the common request never does. Loop-confined.
import TollgateIO

final class SlotWaitTimer: TimerHandler {
    private weak var waiter: ProxyExchange?

    init(waiter: ProxyExchange) {
        self.waiter = waiter
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        waiter?.slotWaitExpired()
    }
}
