// SPDX-License-Identifier: Apache-2.0
// The connection's deadlines and what their expiry means, driven with explicit times (no clock,
// no socket, no sleep). Timeouts here: header 10, body 20, idle 30, send 40, linger 50.
import Testing
@testable import TollgateHTTP

struct HTTPConnectionTimeoutsTests {
    private static var options: HTTPServerOptions {
        var options = HTTPServerOptions()
        options.headerTimeout = 10
        options.bodyTimeout = 20
        options.idleTimeout = 30
        options.sendTimeout = 40
        options.lingerTimeout = 50
        return options
    }

    /// Accepted at 1000.
    private static func accepted() -> HTTPConnectionTimeouts {
        HTTPConnectionTimeouts(options: options, now: 1000)
    }

    private func deadline(_ t: HTTPConnectionTimeouts, _ phase: HTTPConnection.Phase,
                          readingBody: Bool = false, writePending: Bool = false) -> UInt64 {
        t.deadline(phase: phase, readingBody: readingBody, writePending: writePending)
    }

    @Test func theFirstHeadCountsFromAcceptHoweverLateItStarts() {
        var t = Self.accepted()
        #expect(deadline(t, .awaitingHead) == 1010)
        t.headStarted(at: 1008)  // a slowloris trickling its first byte cannot buy time
        #expect(deadline(t, .readingHead) == 1010)
        #expect(t.expiry(phase: .awaitingHead, readingBody: false, now: 1010) == .header)
        #expect(t.expiry(phase: .readingHead, readingBody: false, now: 1010) == .header)
    }

    @Test func afterAResponseTheIdleClockRunsThenALaterHeadGetsItsOwn() {
        var t = Self.accepted()
        t.exchangeStarted(at: 1005)
        #expect(!t.isFirstRequest)
        t.idleStarted(at: 2000)
        #expect(deadline(t, .awaitingHead) == 2030)
        // Keep-alive idle ends silently, as nginx does.
        #expect(t.expiry(phase: .awaitingHead, readingBody: false, now: 2030) == .close)
        t.headStarted(at: 2025)
        #expect(deadline(t, .readingHead) == 2035)
        #expect(t.expiry(phase: .readingHead, readingBody: false, now: 2035) == .header)
    }

    @Test func anExchangeWaitsOnTheBodyAndOnTheClientReading() {
        var t = Self.accepted()
        t.exchangeStarted(at: 1005)
        // The responder answers without reading and nothing is queued: no deadline.
        #expect(deadline(t, .exchange) == .max)
        #expect(deadline(t, .exchange, readingBody: true) == 1025)
        t.bodyProgressed(at: 1020)
        #expect(deadline(t, .exchange, readingBody: true) == 1040)
        t.wrote(at: 1003)
        #expect(deadline(t, .exchange, writePending: true) == 1043)
        #expect(deadline(t, .exchange, readingBody: true, writePending: true) == 1040)
        t.wrote(at: 990)
        #expect(deadline(t, .exchange, readingBody: true, writePending: true) == 1030)
    }

    @Test func anExchangeExpiresWithA408OnlyWhenTheBodyIsLate() {
        var t = Self.accepted()
        t.exchangeStarted(at: 1000)
        t.wrote(at: 970)
        // The send deadline (1010) passed, the body's (1020) not yet: the client stopped reading.
        #expect(t.expiry(phase: .exchange, readingBody: true, now: 1010) == .close)
        #expect(t.expiry(phase: .exchange, readingBody: true, now: 1020) == .body)
        // A paused or complete body has no clock of its own.
        #expect(t.expiry(phase: .exchange, readingBody: false, now: 5000) == .close)
    }

    @Test func closingWaitsForTheFlushThenTheLinger() {
        var t = Self.accepted()
        t.wrote(at: 1100)
        #expect(deadline(t, .closingAfterFlush) == 1140)
        t.lingerStarted(at: 1200)
        #expect(deadline(t, .lingering) == 1250)
        #expect(deadline(t, .closed) == .max)
        for phase in [HTTPConnection.Phase.closingAfterFlush, .lingering, .closed] {
            #expect(t.expiry(phase: phase, readingBody: true, now: .max) == .close, "\(phase)")
        }
    }

    @Test func oneLoopTimerEntryFollowsAMovingDeadline() {
        var t = Self.accepted()
        // The first deadline needs an entry on the loop.
        #expect(t.arm(phase: .awaitingHead, readingBody: false, writePending: false) == 1010)
        t.exchangeStarted(at: 1005)
        // A later deadline is covered by the pending entry: no new one.
        #expect(t.arm(phase: .exchange, readingBody: true, writePending: false) == nil)
        // That entry fires early: it is moved to the real deadline, not taken for an expiry.
        #expect(t.fired(entryDeadline: 1010, now: 1010, phase: .exchange, readingBody: true) == .reschedule(1025))
        #expect(t.fired(entryDeadline: 1025, now: 1025, phase: .exchange, readingBody: true) == .expired(.body))
    }

    @Test func anEarlierDeadlineGetsItsOwnEntryAndTheOldOneIsIgnored() {
        var t = Self.accepted()
        t.exchangeStarted(at: 1000)
        #expect(t.arm(phase: .exchange, readingBody: true, writePending: false) == 1020)
        t.wrote(at: 900)
        #expect(t.arm(phase: .exchange, readingBody: true, writePending: true) == 940)
        #expect(t.fired(entryDeadline: 940, now: 940, phase: .exchange, readingBody: true) == .expired(.close))
        #expect(t.fired(entryDeadline: 1020, now: 1020, phase: .exchange, readingBody: true) == .ignore)
    }

    @Test func aDisarmedConnectionIgnoresItsPendingEntry() {
        var t = Self.accepted()
        #expect(t.arm(phase: .awaitingHead, readingBody: false, writePending: false) == 1010)
        t.disarm()
        #expect(t.fired(entryDeadline: 1010, now: 1010, phase: .awaitingHead, readingBody: false) == .ignore)
    }
}
