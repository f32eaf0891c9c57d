// SPDX-License-Identifier: Apache-2.0
// One attempt's `first_byte_timeout`, for an attempt still waiting at a FirstByteWatch tick: no
// response head by its deadline fails the attempt (SPEC §3 → 504, or the next candidate). Its
// own handler, so the attempt is not a timer as well as a sink and a body source; it holds the
// attempt only while scheduled (the loop drops a handler once it fired or was cancelled).
// Loop-confined.
import TollgateIO

final class FirstByteTimer: TimerHandler {
    private let attempt: ProxyAttempt

    init(attempt: ProxyAttempt) {
        self.attempt = attempt
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        attempt.firstByteTimedOut(now: now)
    }
}
