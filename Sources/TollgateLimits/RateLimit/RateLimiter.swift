// SPDX-License-Identifier: Apache-2.0
// Per-user admission by `requests_per_minute` (a token bucket whose burst is one minute's worth,
// SPEC §2) and `concurrent` (requests in flight), one instance for the whole process: every
// loop asks the same table, so a user's limit holds however its connections are spread over
// the workers. Entries are keyed by user NAME, not by a plan's index, so a reload (a new plan)
// finds the usage so far and only the limits change. Unlimited users never take the lock.
import Synchronization

/// A user's rate limits after inheritance; nil = unlimited (0 in the config is nil here).
public struct RateLimits: Sendable, Equatable {
    public var requestsPerMinute: Int?
    public var concurrent: Int?

    public init(requestsPerMinute: Int? = nil, concurrent: Int? = nil) {
        // A non-positive limit is "unlimited" (the config's 0), never a bucket of size 0 or
        // less that the arithmetic below would have to guard against.
        self.requestsPerMinute = requestsPerMinute.flatMap { $0 > 0 ? $0 : nil }
        self.concurrent = concurrent.flatMap { $0 > 0 ? $0 : nil }
    }

    public static let unlimited = RateLimits()
    public var isUnlimited: Bool { requestsPerMinute == nil && concurrent == nil }
}

/// Which limit refused a request: its config key, also the `limit` label of
/// `tollgate_rate_limited_total`.
public enum RateLimitName: String, Sendable, Hashable {
    case requestsPerMinute = "requests_per_minute"
    case concurrent = "concurrent"
}

/// The answer to one request's admission.
public struct RateAdmission: Sendable, Equatable {
    /// nil: admitted; else the limit that refused it.
    public var refusedBy: RateLimitName?
    /// The request holds a concurrency slot: `release(user:)` must be called once it ends.
    public var holdsSlot: Bool
    /// The request-rate figures for the `x-ratelimit-*-requests` headers; nil when the user
    /// has no `requests_per_minute`.
    public var requests: RequestRate?
    /// When to try again (nanoseconds; 0 when admitted).
    public var retryAfterNs: UInt64
    /// The concurrency limit and what is in flight (for the refusal's message).
    public var concurrentLimit: Int?

    public var isAdmitted: Bool { refusedBy == nil }

    public struct RequestRate: Sendable, Equatable {
        public var limit: Int
        public var remaining: Int
        /// Until the bucket is full again (nanoseconds).
        public var resetNs: UInt64
    }
}

public final class RateLimiter: Sendable {
    /// How long a concurrency refusal asks the client to wait: when a slot frees is not
    /// known in advance, so the shortest whole `Retry-After` (RFC 9110 §10.2.3: seconds).
    public static let concurrentRetryNs: UInt64 = 1_000_000_000

    private struct Entry {
        var bucket: TokenBucket?
        var inFlight = 0
    }

    private struct State {
        var users: [String: Entry] = [:]
        var refused: [RefusalKey: Int] = [:]
    }

    private struct RefusalKey: Hashable {
        var user: String
        var limit: RateLimitName
    }

    private let state = Mutex(State())

    public init() {}

    /// Admits or refuses one request of `user` under `limits` at `now` (monotonic ns, any
    /// loop's clock: a time earlier than the last one seen refills nothing). Concurrency is
    /// checked first, so a request refused for it spends no token, and a token is taken only
    /// by a request that also gets a slot.
    public func admit(user: String, limits: RateLimits, now: UInt64) -> RateAdmission {
        if limits.isUnlimited { return RateAdmission(refusedBy: nil, holdsSlot: false, requests: nil, retryAfterNs: 0) }
        return state.withLock { state in
            // Decided in place in the table (one hash of the name, no copy of the entry).
            let admission = Self.decide(&state.users[user, default: Entry()], limits: limits, now: now)
            if let limit = admission.refusedBy { state.refused[RefusalKey(user: user, limit: limit), default: 0] += 1 }
            return admission
        }
    }

    private static func decide(_ entry: inout Entry, limits: RateLimits, now unsignedNow: UInt64) -> RateAdmission {
        let now = Int64(clamping: unsignedNow)
        if let rpm = limits.requestsPerMinute {
            // A new limit (a reload) keeps the tokens left, capped at the new capacity
            // (TokenBucket.setRequestsPerMinute): the usage so far is not forgotten.
            if entry.bucket == nil { entry.bucket = TokenBucket(requestsPerMinute: Int64(rpm), now: now) }
            entry.bucket?.setRequestsPerMinute(Int64(rpm), now: now)
        } else {
            entry.bucket = nil
        }
        if let concurrent = limits.concurrent, entry.inFlight >= concurrent {
            return RateAdmission(refusedBy: .concurrent, holdsSlot: false,
                                 requests: entry.bucket.map { rate($0, $0.peek(now: now)) },
                                 retryAfterNs: concurrentRetryNs, concurrentLimit: concurrent)
        }
        var requests: RateAdmission.RequestRate?
        if let decision = entry.bucket?.take(now: now), let bucket = entry.bucket {
            requests = rate(bucket, decision)
            if !decision.allowed {
                return RateAdmission(refusedBy: .requestsPerMinute, holdsSlot: false, requests: requests,
                                     retryAfterNs: UInt64(max(decision.retryAfterNs, 0)), concurrentLimit: limits.concurrent)
            }
        }
        let holds = limits.concurrent != nil
        if holds { entry.inFlight += 1 }
        return RateAdmission(refusedBy: nil, holdsSlot: holds, requests: requests, retryAfterNs: 0,
                             concurrentLimit: limits.concurrent)
    }

    private static func rate(_ bucket: TokenBucket, _ decision: TokenBucket.Decision) -> RateAdmission.RequestRate {
        .init(limit: Int(clamping: bucket.requestsPerMinute), remaining: Int(clamping: decision.remaining),
              resetNs: UInt64(max(decision.resetNs, 0)))
    }

    /// Ends a request that held a slot (`RateAdmission.holdsSlot`).
    public func release(user: String) {
        state.withLock { state in
            guard var entry = state.users[user], entry.inFlight > 0 else { return }
            entry.inFlight -= 1
            state.users[user] = entry
        }
    }

    /// Requests of `user` holding a slot now (tests, diagnostics).
    public func inFlight(user: String) -> Int {
        state.withLock { $0.users[user]?.inFlight ?? 0 }
    }

    /// `tollgate_rate_limited_total`: refusals so far by user and limit (this process's run).
    public func refusals() -> [(user: String, limit: RateLimitName, count: Int)] {
        state.withLock { state in state.refused.map { (user: $0.key.user, limit: $0.key.limit, count: $0.value) } }
    }
}
