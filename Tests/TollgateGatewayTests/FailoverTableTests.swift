// SPDX-License-Identifier: Apache-2.0
// FailoverTable against SPEC §3's upstream outcome table, every combination of its inputs.
import Testing
import TollgateBackends
@testable import TollgateGateway

struct FailoverTableTests {
    /// SPEC §3, written out again as data: what the client gets when no candidate is left.
    static let lastAnswer: [FailoverTable.Outcome: (Int, String)] = [
        .unreachable: (502, "backend_unreachable"),
        .tlsFailed: (502, "backend_tls"),
        .timedOut: (504, "backend_timeout"),
        .serverError: (502, "bad_gateway"),
        .redirect: (502, "backend_redirect"),
        .rateLimited: (503, "no_backend_available"),
        .credentialsRejected: (502, "backend_misconfigured"),
        .broken: (502, "bad_gateway"),
        .tooLarge: (502, "response_too_large"),
    ]

    @Test func everyCombinationDecidesAsSpecSays() {
        var seen = 0
        for outcome in FailoverTable.Outcome.allCases {
            for reachedClient in [false, true] {
                for attemptsLeft in [false, true] {
                    for replayable in [false, true] {
                        let action = FailoverTable.decide(outcome, reachedClient: reachedClient,
                                                          attemptsLeft: attemptsLeft, replayable: replayable)
                        let expected: FailoverTable.Action
                        if outcome == .reply {
                            expected = .passThrough            // "other 4xx: passed through as-is, no retry"
                        } else if reachedClient {
                            expected = .endResponse            // "after the first byte a failure ends the response"
                        } else if attemptsLeft && replayable {
                            expected = .retryNext              // "passive failure, next candidate"
                        } else {
                            let (status, code) = Self.lastAnswer[outcome] ?? (0, "missing from the test's table")
                            expected = .fail(status: status, code: code)
                        }
                        #expect(action == expected, "\(outcome) reached=\(reachedClient) left=\(attemptsLeft) replayable=\(replayable)")
                        seen += 1
                    }
                }
            }
        }
        #expect(seen == FailoverTable.Outcome.allCases.count * 8)
        #expect(Set(Self.lastAnswer.keys).union([.reply]) == Set(FailoverTable.Outcome.allCases))
    }

    @Test func statusesFallIntoTheirClasses() {
        let cases: [(Int, FailoverTable.Outcome)] = [
            (200, .reply), (201, .reply), (204, .reply), (400, .reply), (404, .reply), (413, .reply), (422, .reply),
            (401, .credentialsRejected), (403, .credentialsRejected), (429, .rateLimited),
            (301, .redirect), (302, .redirect), (303, .redirect), (307, .redirect), (308, .redirect),
            (500, .serverError), (502, .serverError), (503, .serverError), (599, .serverError), (504, .timedOut),
        ]
        for (status, outcome) in cases {
            #expect(FailoverTable.Outcome(status: status) == outcome, "HTTP \(status)")
        }
    }

    @Test func transportEndsFallIntoTheirClasses() {
        let cases: [(BackendOutcome, FailoverTable.Outcome)] = [
            (.connectFailed("refused"), .unreachable), (.tlsFailed("bad certificate"), .tlsFailed),
            (.timedOut("connect"), .timedOut), (.broken("reset"), .broken), (.tooLarge, .tooLarge),
            // A call that "completed" without a reply closed without one; a cancel the gateway
            // did not ask for is a broken call too.
            (.completed, .broken), (.cancelled, .broken),
            // Job platforms: a quota error fails over like a 429, a failed job like a 5xx.
            (.quotaExhausted("monthly quota", until: nil), .rateLimited), (.jobFailed("CUDA out of memory"), .serverError),
        ]
        for (end, outcome) in cases {
            #expect(FailoverTable.Outcome(end) == outcome, "\(end)")
        }
    }

    @Test func theLastFailureNamesItsBackendAndTheRateLimitedOneListsAll() {
        let redactor = SecretRedactor(secrets: ["sk-upstream-secret"])
        let limited = AttemptFailure(backend: "b", status: 429, errorBody: Array(#"{"error":{"message":"slow"}}"#.utf8), redactor: redactor)
        #expect(limited.message(reasons: ["a: refused", limited.reason]) == "No backend could take the request: a: refused; b: slow")
        let creds = AttemptFailure(backend: "b", status: 401, errorBody: Array(#"bad key sk-upstream-secret"#.utf8), redactor: redactor)
        #expect(creds.message(reasons: []) == "b rejected the gateway's credentials (HTTP 401)")
        #expect(creds.text == "bad key [redacted]")
        let late = AttemptFailure.firstByteTimeout(backend: "c")
        #expect(late.message(reasons: []) == "c did not answer in time: no response within first_byte_timeout")
        let cut = AttemptFailure(backend: "d", outcome: .broken("reset"), detail: " before its response body", redactor: redactor)
        #expect(cut.message(reasons: []) == "d failed: reset before its response body")
    }

    @Test func upstreamErrorMessagesAreExtracted() {
        #expect(AttemptFailure.upstreamMessage(Array(#"{"error":{"message":"GPU \"exploded\"","type":"x"}}"#.utf8)) == #"GPU "exploded""#)
        #expect(AttemptFailure.upstreamMessage(Array(#"{"detail":"Not found"}"#.utf8)) == "Not found")
        #expect(AttemptFailure.upstreamMessage(Array("plain text".utf8)) == "plain text")
        #expect(AttemptFailure.upstreamMessage([]) == nil)
    }
}
