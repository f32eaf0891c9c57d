// SPDX-License-Identifier: Apache-2.0
// The first-byte clocks of one loop's attempts (`first_byte_timeout`, SPEC §3). Nearly every
// attempt has its response head within milliseconds, so an attempt whose clock starts is only
// noted here, without a timer of its own: one shared tick, `tickNs` after the first note (or at
// an earlier deadline), gives each attempt still waiting its own timer at its exact deadline,
// or times it out if that has passed. An attempt answered before the tick never touches the
// loop's timer heap, and no timeout fires late. Noted attempts are held until the tick (at most
// `tickNs`), never longer. Loop-confined.
import TollgateIO

final class FirstByteWatch: TimerHandler {
    static let tickNs: UInt64 = 50_000_000

    private let loop: EventLoop
    private var noted: [ProxyAttempt] = []
    /// The other list, swapped in while a tick walks this one (kept for its capacity).
    private var spare: [ProxyAttempt] = []
    private var tick: TimerToken?
    private var tickAt: UInt64 = 0

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// `attempt`'s clock started; it times out at `deadline` unless it is disarmed first.
    func note(_ attempt: ProxyAttempt, deadline: UInt64) {
        noted.append(attempt)
        if let tick {
            guard deadline < tickAt else { return }
            loop.cancel(tick)
        }
        tickAt = min(loop.now &+ Self.tickNs, deadline)
        tick = loop.schedule(self, at: tickAt)
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        tick = nil
        // An attempt that times out here may start the next candidate, which notes its own
        // clock: into the other list, for the next tick.
        swap(&noted, &spare)
        for attempt in spare { attempt.firstByteTick(loop: loop) }
        spare.removeAll(keepingCapacity: spare.capacity <= 4096)
    }
}
