// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateLimits
@testable import TollgateGateway

struct RateLimitReplyTests {
    @Test func resetDurationsReadLikeOpenAIs() {
        let ms: UInt64 = 1_000_000
        #expect(RateLimitReply.duration(0) == "0ms")
        #expect(RateLimitReply.duration(1) == "1ms")            // rounded up, never "0ms" for a wait
        #expect(RateLimitReply.duration(20 * ms) == "20ms")
        #expect(RateLimitReply.duration(1_000 * ms) == "1s")
        #expect(RateLimitReply.duration(1_500 * ms) == "1.5s")
        #expect(RateLimitReply.duration(1_050 * ms) == "1.05s")
        #expect(RateLimitReply.duration(1_001 * ms) == "1.001s")
        #expect(RateLimitReply.duration(360_000 * ms) == "6m0s")
        #expect(RateLimitReply.duration(90_500 * ms) == "1m30.5s")
        #expect(RateLimitReply.duration(3_600_000 * ms) == "1h0m0s")
        #expect(!RateLimitReply.duration(UInt64.max).isEmpty)
    }

    @Test func retryAfterIsWholeSecondsRoundedUpAndAtLeastOne() {
        #expect(RateLimitReply.retryAfterSeconds(0) == 1)
        #expect(RateLimitReply.retryAfterSeconds(1) == 1)
        #expect(RateLimitReply.retryAfterSeconds(1_000_000_000) == 1)
        #expect(RateLimitReply.retryAfterSeconds(1_000_000_001) == 2)
        #expect(RateLimitReply.retryAfterSeconds(UInt64.max) > 0)
    }
}
