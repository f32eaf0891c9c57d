// SPDX-License-Identifier: Apache-2.0
// SPEC §4's circuit driven with explicit times.
import Testing
import TollgateRouting

struct CircuitBreakerTests {
    private let s: UInt64 = 1_000_000_000

    @Test func opensAfterConsecutiveFailuresOnly() {
        var breaker = CircuitBreaker(failureThreshold: 3, cooldownNs: 10 * s, maxCooldownNs: 40 * s)
        breaker.recordFailure(now: 0)
        breaker.recordFailure(now: 0)
        breaker.recordSuccess()  // a success in between resets the count
        breaker.recordFailure(now: 1 * s)
        breaker.recordFailure(now: 1 * s)
        let admitted1 = breaker.admit(now: 1 * s)
        #expect(admitted1)
        breaker.recordFailure(now: 2 * s)
        #expect(breaker.state == .open(until: 12 * s))
        let admitted2 = breaker.admit(now: 11 * s)
        #expect(!admitted2)
        #expect(!breaker.isEligible(now: 11 * s))
    }

    @Test func aTrialThatNeverRanLeavesTheNextRequestAsTheTrial() {
        var breaker = CircuitBreaker(failureThreshold: 1, cooldownNs: 10 * s, maxCooldownNs: 40 * s)
        breaker.recordFailure(now: 0)
        let trial = breaker.admit(now: 10 * s)
        let second = breaker.admit(now: 10 * s)
        #expect(trial && !second)
        breaker.reopenUntried(now: 11 * s)
        #expect(breaker.state == .open(until: 11 * s))
        #expect(breaker.currentCooldownNs == 10 * s)  // not doubled: nothing failed
        let next = breaker.admit(now: 11 * s)
        #expect(next)
        // Closed and open circuits are left alone.
        var closed = CircuitBreaker(failureThreshold: 3, cooldownNs: 10 * s, maxCooldownNs: 40 * s)
        closed.reopenUntried(now: 5 * s)
        #expect(closed.state == .closed(consecutiveFailures: 0))
    }

    @Test func halfOpenAdmitsOneTrialThatDecides() {
        var breaker = CircuitBreaker(failureThreshold: 1, cooldownNs: 10 * s, maxCooldownNs: 40 * s)
        breaker.recordFailure(now: 0)
        #expect(breaker.isEligible(now: 10 * s))
        let admitted3 = breaker.admit(now: 10 * s)
        #expect(admitted3)
        #expect(breaker.state == .halfOpen)
        let secondTrial = breaker.admit(now: 10 * s)
        #expect(!secondTrial)  // only one trial
        breaker.recordSuccess()
        #expect(breaker.state == .closed(consecutiveFailures: 0))
        let admitted4 = breaker.admit(now: 10 * s)
        #expect(admitted4)
    }

    @Test func cooldownDoublesUpToTheMaximumAndResetsOnSuccess() {
        var breaker = CircuitBreaker(failureThreshold: 1, cooldownNs: 10 * s, maxCooldownNs: 25 * s)
        var now: UInt64 = 0
        breaker.recordFailure(now: now)
        var opened: [UInt64] = []
        for _ in 0..<4 {
            guard case .open(let until) = breaker.state else { Issue.record("not open"); return }
            opened.append((until - now) / s)
            now = until
            let admitted5 = breaker.admit(now: now)
            #expect(admitted5)
            breaker.recordFailure(now: now)
        }
        #expect(opened == [10, 20, 25, 25])
        now += 25 * s
        let admitted6 = breaker.admit(now: now)
        #expect(admitted6)
        breaker.recordSuccess()
        breaker.recordFailure(now: now)
        #expect(breaker.state == .open(until: now + 10 * s))
    }

    @Test func lateReportsAndExtremeTimesNeverTrap() {
        var breaker = CircuitBreaker(failureThreshold: 1, cooldownNs: .max, maxCooldownNs: .max)
        breaker.recordFailure(now: .max - 1)
        #expect(breaker.state == .open(until: .max))
        breaker.recordFailure(now: .max)  // a late report while open changes nothing
        #expect(breaker.state == .open(until: .max))
        var zero = CircuitBreaker(failureThreshold: 0, cooldownNs: 0, maxCooldownNs: 0)
        zero.recordFailure(now: 5)
        #expect(zero.state == .open(until: 6))
    }
}

struct CircuitBreakerRoutingTests {
    private let s: UInt64 = 1_000_000_000

    @Test func countsFailuresAndRemembersTheLastOne() {
        var breaker = CircuitBreaker(failureThreshold: 2, cooldownNs: 10 * s, maxCooldownNs: 40 * s)
        #expect(breaker.lastFailureNs == nil)
        #expect(breaker.consecutiveFailures == 0)
        breaker.recordFailure(now: 1 * s)
        #expect(breaker.consecutiveFailures == 1)
        #expect(breaker.lastFailureNs == 1 * s)
        breaker.recordFailure(now: 2 * s)
        breaker.recordFailure(now: 3 * s)  // a late report while open still counts
        #expect(breaker.consecutiveFailures == 3)
        #expect(breaker.lastFailureNs == 3 * s)
        breaker.recordSuccess()
        #expect(breaker.consecutiveFailures == 0)
        #expect(breaker.lastFailureNs == 3 * s)  // kept: it orders the all-open fallback
    }

    @Test func availabilityFollowsTheState() {
        var breaker = CircuitBreaker(failureThreshold: 1, cooldownNs: 10 * s, maxCooldownNs: 40 * s)
        #expect(breaker.availability(now: 0) == .ready)
        breaker.recordFailure(now: 2 * s)
        #expect(breaker.availability(now: 5 * s) == .circuitOpen(untilNs: 12 * s, lastFailureNs: 2 * s))
        #expect(breaker.availability(now: 12 * s) == .ready)
        let admitted = breaker.admit(now: 12 * s)
        #expect(admitted)
        #expect(breaker.availability(now: 12 * s) == .halfOpenBusy)
        breaker.recordSuccess()
        #expect(breaker.availability(now: 12 * s) == .ready)
    }
}
