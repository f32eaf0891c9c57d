// SPDX-License-Identifier: Apache-2.0
// The token bucket on an injected clock: exact counts, exact waits, and no trap at the edges
// of Int64 (rpm up to 1e9 and beyond, clocks far apart or stepping back).
import Testing
import TollgateLimits

struct TokenBucketTests {
    private let second: Int64 = 1_000_000_000

    @Test func aFullMinuteOfBurstThenOnePerInterval() {
        var bucket = TokenBucket(requestsPerMinute: 60, now: 0)
        for i in 0..<60 {
            let d = bucket.take(now: 0)
            #expect(d.allowed && d.remaining == Int64(59 - i) && d.retryAfterNs == 0)
        }
        let refused = bucket.take(now: 0)
        #expect(!refused.allowed && refused.remaining == 0)
        #expect(refused.retryAfterNs == second)
        #expect(refused.resetNs == 60 * second)
        #expect(!bucket.take(now: second - 1).allowed)
        let next = bucket.take(now: second)
        #expect(next.allowed && next.remaining == 0)
        #expect(next.resetNs == 60 * second)
        // Half a second in: half a token, the wait is the other half.
        let half = bucket.take(now: second + second / 2)
        #expect(!half.allowed && half.retryAfterNs == second / 2)
        // A minute later it is full again, never more.
        #expect(bucket.peek(now: 10 * 60 * second).remaining == 60)
        #expect(bucket.peek(now: 10 * 60 * second).resetNs == 0)
    }

    @Test func fractionalRatesKeepTheirRemainder() {
        // 7 per minute: one every 8.571428571… s; the waits round up, the tokens never drift.
        var bucket = TokenBucket(requestsPerMinute: 7, now: 0)
        for _ in 0..<7 { #expect(bucket.take(now: 0).allowed) }
        let refused = bucket.take(now: 0)
        #expect(refused.retryAfterNs == 8_571_428_572)
        #expect(!bucket.take(now: 8_571_428_571).allowed)
        #expect(bucket.take(now: 8_571_428_572).allowed)
        // Over an hour of taking every 10 ms: 7 at once, then exactly 7 per minute.
        var count: Int64 = 0
        var b = TokenBucket(requestsPerMinute: 7, now: 0)
        var now: Int64 = 0
        while now < 3_600 * second {
            if b.take(now: now).allowed { count += 1 }
            now += 10_000_000
        }
        // Refilled by the last take (3599.99 s): floor(3599.99 × 7 / 60) = 419.
        #expect(count == 7 + 419)
    }

    @Test func hugeRatesAndClocksDoNotTrap() {
        var bucket = TokenBucket(requestsPerMinute: 1_000_000_000, now: Int64.min)
        #expect(bucket.take(now: Int64.min).remaining == 999_999_999)
        #expect(bucket.take(now: Int64.max).remaining == 999_999_999)
        // Backwards: nothing gained, nothing lost.
        #expect(bucket.take(now: 0).remaining == 999_999_998)
        #expect(bucket.take(now: Int64.max).remaining == 999_999_997)
        var max = TokenBucket(requestsPerMinute: Int64.max, now: 0)
        for t in [Int64(0), 1, 59 * second, Int64.max] {
            let d = max.take(now: t)
            #expect(d.allowed && d.resetNs >= 0)
        }
        // 1e9 per minute: 1/60 per ns; after 1 µs, 16 more (and 2/3 of one).
        var fast = TokenBucket(requestsPerMinute: 1_000_000_000, now: 0)
        for _ in 0..<50 { _ = fast.take(now: 0) }
        #expect(fast.peek(now: 1_000).remaining == 1_000_000_000 - 50 + 16)
    }

    @Test func zeroIsUnlimited() {
        var bucket = TokenBucket(requestsPerMinute: 0, now: 0)
        for _ in 0..<10_000 { #expect(bucket.take(now: 0).allowed) }
        var negative = TokenBucket(requestsPerMinute: -5, now: 0)
        #expect(negative.take(now: 0).allowed && negative.requestsPerMinute == 0)
    }

    @Test func aNewLimitKeepsTheTokens() {
        var bucket = TokenBucket(requestsPerMinute: 100, now: 0)
        for _ in 0..<90 { _ = bucket.take(now: 0) }
        bucket.setRequestsPerMinute(50, now: 0)
        #expect(bucket.peek(now: 0).remaining == 10)
        bucket.setRequestsPerMinute(5, now: 0)
        #expect(bucket.peek(now: 0).remaining == 5)
        bucket.setRequestsPerMinute(0, now: 0)
        #expect(bucket.take(now: 0).allowed)
        bucket.setRequestsPerMinute(3, now: 0)
        #expect(bucket.peek(now: 0).remaining == 3)
    }
}
