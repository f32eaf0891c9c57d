// SPDX-License-Identifier: Apache-2.0
// What a client sees of its rate limits: OpenAI's `x-ratelimit-*-requests` headers on every
// response of a rate-limited route, and the 429 that names the limit and when it resets
// (SPEC §3), with `Retry-After` in whole seconds, rounded up (RFC 9110 §10.2.3 has no
// fractions; rounding down would invite a retry that is refused again).
import TollgateHTTP
import TollgateLimits

enum RateLimitReply {
    /// The three request-rate headers (nil when the user has no `requests_per_minute`).
    static func headers(_ admission: RateAdmission) -> HTTPHeaders? {
        guard let rate = admission.requests else { return nil }
        var headers = HTTPHeaders()
        headers.reserveCapacity(3)
        headers.add("x-ratelimit-limit-requests", String(rate.limit))
        headers.add("x-ratelimit-remaining-requests", String(rate.remaining))
        headers.add("x-ratelimit-reset-requests", duration(rate.resetNs))
        return headers
    }

    /// Answers a refused admission: 429, `Retry-After`, the OpenAI-shaped error naming the limit.
    static func refuse(_ exchange: HTTPExchange, _ admission: RateAdmission, user: String) {
        var headers = HTTPHeaders()
        headers.add("retry-after", String(retryAfterSeconds(admission.retryAfterNs)))
        let wait = duration(admission.retryAfterNs)
        let message: String
        let type: String
        switch admission.refusedBy {
        case .concurrent:
            let limit = admission.concurrentLimit ?? 0
            message = "Rate limit reached for concurrent requests (concurrent) of user \(user): limit \(limit) in flight. "
                + "A slot frees when one of them ends; retry in \(wait)."
            type = "rate_limit_exceeded"
        default:
            let limit = admission.requests?.limit ?? 0
            message = "Rate limit reached for requests per minute (requests_per_minute) of user \(user): limit \(limit), "
                + "used \(limit). Please try again in \(wait); resets in \(wait)."
            // OpenAI's `type` for a request-rate limit.
            type = "requests"
        }
        exchange.respondError(status: 429, message: message, code: "rate_limit_exceeded", type: type, headers: headers)
    }

    static func retryAfterSeconds(_ ns: UInt64) -> UInt64 {
        max(1, BackendRuntime.seconds(ns))
    }

    /// A duration as OpenAI writes its reset headers (Go's `time.Duration` form, to the
    /// millisecond rounded up): `20ms`, `1s`, `1.5s`, `6m0s`, `1h0m0s`.
    static func duration(_ ns: UInt64) -> String {
        let ms = ns / 1_000_000 + (ns % 1_000_000 == 0 ? 0 : 1)
        if ms < 1000 { return "\(ms)ms" }
        let hours = ms / 3_600_000
        let minutes = ms / 60_000 % 60
        let wholeSeconds = ms / 1000 % 60
        var fraction = ms % 1000
        var seconds = String(wholeSeconds)
        if fraction != 0 {
            var digits = 3
            while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
            let text = String(fraction)
            seconds += "." + String(repeating: "0", count: digits - text.count) + text
        }
        if hours > 0 { return "\(hours)h\(minutes)m\(seconds)s" }
        if minutes > 0 { return "\(minutes)m\(seconds)s" }
        return "\(seconds)s"
    }
}
