// SPDX-License-Identifier: Apache-2.0
// The once-a-second tick of a running attempt's quota lease (SPEC §4: a running request extends
// its lease as it runs and is cut off when the quota cannot cover more). Its own handler, as
// FirstByteTimer is; it holds the attempt only while scheduled. Loop-confined.
import TollgateIO

final class QuotaExtendTimer: TimerHandler {
    private let attempt: ProxyAttempt

    init(attempt: ProxyAttempt) {
        self.attempt = attempt
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        attempt.quotaTick()
    }
}
