// SPDX-License-Identifier: Apache-2.0
// The limiter on an injected clock (monotonic nanoseconds): no test sleeps.
import Testing
import TollgateLimits

struct RateLimiterTests {
    private static let second: UInt64 = 1_000_000_000
    private let t0: UInt64 = 1_000 * second

    @Test func burstIsOneMinuteThenOneTokenPerInterval() {
        let limiter = RateLimiter()
        let limits = RateLimits(requestsPerMinute: 60)
        for i in 0..<60 {
            let admission = limiter.admit(user: "alice", limits: limits, now: t0)
            #expect(admission.isAdmitted, "request \(i)")
            #expect(admission.requests?.remaining == 59 - i)
            #expect(admission.requests?.limit == 60)
        }
        let refused = limiter.admit(user: "alice", limits: limits, now: t0)
        #expect(refused.refusedBy == .requestsPerMinute)
        #expect(refused.retryAfterNs == Self.second)   // 60 per minute: one per second
        #expect(refused.requests?.resetNs == 60 * Self.second)
        // Half a second later: still nothing; a second later: exactly one.
        #expect(!limiter.admit(user: "alice", limits: limits, now: t0 + Self.second / 2).isAdmitted)
        #expect(limiter.admit(user: "alice", limits: limits, now: t0 + Self.second).isAdmitted)
        #expect(!limiter.admit(user: "alice", limits: limits, now: t0 + Self.second).isAdmitted)
        // A long pause refills to the burst and no further.
        for _ in 0..<60 { #expect(limiter.admit(user: "alice", limits: limits, now: t0 + 3_600 * Self.second).isAdmitted) }
        #expect(!limiter.admit(user: "alice", limits: limits, now: t0 + 3_600 * Self.second).isAdmitted)
    }

    @Test func usersAreIndependentAndUnlimitedNeverCounted() {
        let limiter = RateLimiter()
        let one = RateLimits(requestsPerMinute: 1)
        #expect(limiter.admit(user: "a", limits: one, now: t0).isAdmitted)
        #expect(!limiter.admit(user: "a", limits: one, now: t0).isAdmitted)
        #expect(limiter.admit(user: "b", limits: one, now: t0).isAdmitted)
        for _ in 0..<1_000 { #expect(limiter.admit(user: "c", limits: .unlimited, now: t0).isAdmitted) }
        // 0 in the config means unlimited, never a bucket of size 0.
        #expect(RateLimits(requestsPerMinute: 0, concurrent: 0).isUnlimited)
        #expect(RateLimits(requestsPerMinute: -5, concurrent: Int.min).isUnlimited)
        let refusals = limiter.refusals()
        #expect(refusals.count == 1)
        #expect(refusals.first?.user == "a" && refusals.first?.limit == .requestsPerMinute && refusals.first?.count == 1)
    }

    @Test func concurrencyHoldsUntilReleasedAndSpendsNoTokenWhenRefused() {
        let limiter = RateLimiter()
        let limits = RateLimits(requestsPerMinute: 5, concurrent: 2)
        let first = limiter.admit(user: "u", limits: limits, now: t0)
        let second = limiter.admit(user: "u", limits: limits, now: t0)
        #expect(first.holdsSlot && second.holdsSlot)
        let third = limiter.admit(user: "u", limits: limits, now: t0)
        #expect(third.refusedBy == .concurrent && !third.holdsSlot)
        #expect(third.retryAfterNs == RateLimiter.concurrentRetryNs)
        #expect(third.requests?.remaining == 3)   // the refusal took no token
        #expect(limiter.inFlight(user: "u") == 2)
        limiter.release(user: "u")
        #expect(limiter.admit(user: "u", limits: limits, now: t0).holdsSlot)
        limiter.release(user: "u")
        limiter.release(user: "u")
        limiter.release(user: "u")   // one too many: never below zero
        #expect(limiter.inFlight(user: "u") == 0)
        let counts = Dictionary(uniqueKeysWithValues: limiter.refusals().map { ($0.limit, $0.count) })
        #expect(counts == [.concurrent: 1])
    }

    @Test func aNewLimitKeepsTheUsageSoFar() {
        let limiter = RateLimiter()
        for _ in 0..<5 { #expect(limiter.admit(user: "u", limits: RateLimits(requestsPerMinute: 10), now: t0).isAdmitted) }
        // A reload raises the limit to 20: the 5 tokens left carry over (not a fresh 20).
        let raised = limiter.admit(user: "u", limits: RateLimits(requestsPerMinute: 20), now: t0)
        #expect(raised.requests?.limit == 20 && raised.requests?.remaining == 4)
        // Lowered to 2: what is left is capped at the new capacity.
        #expect(limiter.admit(user: "u", limits: RateLimits(requestsPerMinute: 2), now: t0).requests?.remaining == 1)
        #expect(limiter.admit(user: "u", limits: RateLimits(requestsPerMinute: 2), now: t0).requests?.remaining == 0)
        let lowered = limiter.admit(user: "u", limits: RateLimits(requestsPerMinute: 2), now: t0)
        #expect(lowered.refusedBy == .requestsPerMinute)
        #expect(lowered.retryAfterNs == 30 * Self.second)   // 2 per minute: one every 30 s
        // Concurrency in flight carries over a new concurrency limit too.
        let c = RateLimits(concurrent: 3)
        for _ in 0..<3 { #expect(limiter.admit(user: "v", limits: c, now: t0).holdsSlot) }
        #expect(limiter.admit(user: "v", limits: RateLimits(concurrent: 2), now: t0).refusedBy == .concurrent)
        #expect(limiter.admit(user: "v", limits: RateLimits(concurrent: 4), now: t0).holdsSlot)
    }

    @Test func aClockThatGoesBackRefillsNothingAndNeverTraps() {
        let limiter = RateLimiter()
        let limits = RateLimits(requestsPerMinute: Int.max)   // clamped, no overflow
        #expect(limiter.admit(user: "u", limits: limits, now: UInt64.max).isAdmitted)
        #expect(limiter.admit(user: "u", limits: limits, now: 0).isAdmitted)
        let slow = RateLimits(requestsPerMinute: 1)
        #expect(limiter.admit(user: "s", limits: slow, now: t0).isAdmitted)
        #expect(!limiter.admit(user: "s", limits: slow, now: t0 - Self.second).isAdmitted)
        #expect(limiter.admit(user: "s", limits: slow, now: UInt64.max).isAdmitted)
    }

    @Test func manyThreadsNeverAdmitMoreThanTheLimit() async {
        let limiter = RateLimiter()
        let limits = RateLimits(requestsPerMinute: 100, concurrent: 1_000)
        let admitted = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var n = 0
                    for _ in 0..<100 where limiter.admit(user: "u", limits: limits, now: 5 * Self.second).isAdmitted { n += 1 }
                    return n
                }
            }
            return await group.reduce(0, +)
        }
        #expect(admitted == 100)
        #expect(limiter.inFlight(user: "u") == 100)
    }
}
