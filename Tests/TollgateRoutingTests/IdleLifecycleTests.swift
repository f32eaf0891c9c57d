// SPDX-License-Identifier: Apache-2.0
// Every transition of the idle pause/wake state machine, on an explicit clock.
import Testing
import TollgateRouting

struct IdleLifecycleTests {
    private let s: UInt64 = 1_000_000_000
    private var after: UInt64 { 900 * s }  // idle: { after: 15m }

    @Test func pausesOnceWhenIdleForAfterWithNothingInFlight() {
        var idle = IdleLifecycle(afterNs: after, wakesOnRequest: false, nowNs: 10 * s)
        #expect(idle.state == .active)
        #expect(idle.tick(nowNs: 10 * s + after - 1, inFlight: 0) == nil)
        #expect(idle.tick(nowNs: 10 * s + after, inFlight: 1) == nil)  // busy: never paused
        #expect(idle.tick(nowNs: 10 * s + after, inFlight: 0) == .pause)
        #expect(idle.state == .pausing)
        #expect(idle.tick(nowNs: 20 * s + after, inFlight: 0) == nil)  // once
        #expect(idle.pauseSucceeded(nowNs: 11 * s + after) == nil)
        #expect(idle.state == .paused(sinceNs: 11 * s + after))
        #expect(idle.pauses == 1)
        #expect(idle.tick(nowNs: 100 * s + after, inFlight: 0) == nil)  // already paused
    }

    @Test func usePostponesThePause() {
        var idle = IdleLifecycle(afterNs: after, wakesOnRequest: false, nowNs: 0)
        #expect(idle.requestStarted(nowNs: 100 * s) == nil)
        idle.requestEnded(nowNs: 200 * s)
        #expect(idle.lastUsedNs == 200 * s)
        idle.requestEnded(nowNs: 150 * s)  // a late report never moves the clock back
        #expect(idle.lastUsedNs == 200 * s)
        #expect(idle.tick(nowNs: after + 199 * s, inFlight: 0) == nil)
        #expect(idle.tick(nowNs: after + 200 * s, inFlight: 0) == .pause)
    }

    @Test func aFailedPauseIsRetriedAfterAnotherIdlePeriod() {
        var idle = IdleLifecycle(afterNs: after, wakesOnRequest: false, nowNs: 0)
        #expect(idle.tick(nowNs: after, inFlight: 0) == .pause)
        idle.pauseFailed(nowNs: after + 1 * s)
        #expect(idle.state == .active)
        #expect(idle.lastUsedNs == after + 1 * s)
        #expect(idle.pauses == 0)
        #expect(idle.tick(nowNs: after + 2 * s, inFlight: 0) == nil)
        #expect(idle.tick(nowNs: 2 * after + 1 * s, inFlight: 0) == .pause)
    }

    @Test func aRequestWakesAPausedSpaceThroughTheWakeCall() {
        var idle = IdleLifecycle(afterNs: after, wakesOnRequest: false, nowNs: 0)
        _ = idle.tick(nowNs: after, inFlight: 0)
        idle.pauseSucceeded(nowNs: after)
        #expect(idle.requestStarted(nowNs: after + 100 * s) == .wake)
        #expect(idle.state == .waking(sinceNs: after + 100 * s))
        #expect(idle.requestStarted(nowNs: after + 101 * s) == nil)  // one wake call
        #expect(idle.wakes == 0)
        idle.awake(nowNs: after + 160 * s)
        #expect(idle.state == .active)
        #expect(idle.wakes == 1)
        #expect(idle.lastUsedNs == after + 160 * s)
        #expect(idle.pausedNs(nowNs: after + 500 * s) == 100 * s)
    }

    @Test func anHttpActionWakesWithTheRequestItself() {
        var idle = IdleLifecycle(afterNs: after, wakesOnRequest: true, nowNs: 0)
        _ = idle.tick(nowNs: after, inFlight: 0)
        idle.pauseSucceeded(nowNs: after)
        #expect(idle.requestStarted(nowNs: after + 30 * s) == nil)
        #expect(idle.state == .active)
        #expect(idle.wakes == 1)
        #expect(idle.pausedNs(nowNs: after + 60 * s) == 30 * s)
    }

    @Test func aWakeHintWakesAndAFailedWakeStaysPaused() {
        var idle = IdleLifecycle(afterNs: after, wakesOnRequest: false, nowNs: 0)
        #expect(idle.wakeNeeded(nowNs: 0) == nil)  // active: nothing to wake
        _ = idle.tick(nowNs: after, inFlight: 0)
        #expect(idle.wakeNeeded(nowNs: after) == nil)  // pausing: not yet paused
        idle.pauseSucceeded(nowNs: after)
        #expect(idle.pausedNs(nowNs: after + 10 * s) == 10 * s)  // the open interval counts
        #expect(idle.wakeNeeded(nowNs: after + 10 * s) == .wake)
        #expect(idle.wakeNeeded(nowNs: after + 11 * s) == nil)  // already waking
        idle.wakeFailed(nowNs: after + 20 * s)
        #expect(idle.state == .paused(sinceNs: after + 20 * s))
        #expect(idle.wakes == 0)
        #expect(idle.pausedNs(nowNs: after + 30 * s) == 20 * s)  // 10 s, then 10 s more
        // A later request retries the wake.
        #expect(idle.requestStarted(nowNs: after + 30 * s) == .wake)
        idle.awake(nowNs: after + 40 * s)
        #expect(idle.wakes == 1)
        #expect(idle.pausedNs(nowNs: after + 90 * s) == 20 * s)
    }

    @Test func awakeFromPausedClosesThePausedTime() {
        // A backend found up by a probe while paused (someone restarted it by hand).
        var idle = IdleLifecycle(afterNs: after, wakesOnRequest: false, nowNs: 0)
        _ = idle.tick(nowNs: after, inFlight: 0)
        idle.pauseSucceeded(nowNs: after)
        idle.awake(nowNs: after + 5 * s)
        #expect(idle.state == .active)
        #expect(idle.wakes == 1)
        #expect(idle.pausedNs(nowNs: after + 50 * s) == 5 * s)
        idle.awake(nowNs: after + 6 * s)  // already active: nothing counted
        #expect(idle.wakes == 1)
    }

    @Test func aRequestDuringThePauseCallWakesRightAfterIt() {
        var idle = IdleLifecycle(afterNs: after, wakesOnRequest: false, nowNs: 0)
        _ = idle.tick(nowNs: after, inFlight: 0)
        #expect(idle.requestStarted(nowNs: after + 1 * s) == nil)
        #expect(idle.state == .pausing)
        #expect(idle.pauseSucceeded(nowNs: after + 2 * s) == .wake)
        #expect(idle.pauses == 1)
        #expect(idle.state == .waking(sinceNs: after + 2 * s))
        // With an http action the request wakes it.
        var http = IdleLifecycle(afterNs: after, wakesOnRequest: true, nowNs: 0)
        _ = http.tick(nowNs: after, inFlight: 0)
        _ = http.requestStarted(nowNs: after + 1 * s)
        #expect(http.pauseSucceeded(nowNs: after + 2 * s) == nil)
        #expect(http.state == .active)
        #expect(http.wakes == 1)
        // A request noted during a pause that failed is forgotten with it.
        var failed = IdleLifecycle(afterNs: after, wakesOnRequest: false, nowNs: 0)
        _ = failed.tick(nowNs: after, inFlight: 0)
        _ = failed.requestStarted(nowNs: after + 1 * s)
        failed.pauseFailed(nowNs: after + 2 * s)
        _ = failed.tick(nowNs: 2 * after + 2 * s, inFlight: 0)
        #expect(failed.pauseSucceeded(nowNs: 2 * after + 3 * s) == nil)
        #expect(failed.state == .paused(sinceNs: 2 * after + 3 * s))
    }

    @Test func lateReportsAreIgnored() {
        var idle = IdleLifecycle(afterNs: after, wakesOnRequest: false, nowNs: 0)
        idle.pauseSucceeded(nowNs: 1 * s)
        idle.pauseFailed(nowNs: 1 * s)
        idle.wakeFailed(nowNs: 1 * s)
        #expect(idle.state == .active)
        #expect(idle.pauses == 0)
        #expect(idle.lastUsedNs == 0)
    }

    @Test func extremeClocksDoNotTrap() {
        var idle = IdleLifecycle(afterNs: .max, wakesOnRequest: false, nowNs: .max)
        #expect(idle.tick(nowNs: 0, inFlight: 0) == nil)  // a clock before lastUsed: not idle
        #expect(idle.tick(nowNs: .max, inFlight: -1) == nil)
        var zero = IdleLifecycle(afterNs: 0, wakesOnRequest: false, nowNs: .max)
        #expect(zero.tick(nowNs: .max, inFlight: 0) == .pause)
        zero.pauseSucceeded(nowNs: 0)
        #expect(zero.pausedNs(nowNs: .max) == .max)
        #expect(zero.wakeNeeded(nowNs: .max) == .wake)
        zero.wakeFailed(nowNs: 0)
        #expect(zero.pausedNs(nowNs: .max) == .max)  // saturates
    }
}
