// SPDX-License-Identifier: Apache-2.0
// The /late route: an answer that comes after the client may have gone, as an upstream's does.
// When its timer fires it uses every call of its exchange and records whether any of them
// still reached a connection: once the client left, none may (the exchange must not touch a
// connection that is closed, or freed).
import TollgateHTTP
import TollgateIO

final class LateReply: HTTPExchangeDelegate, TimerHandler {
    let exchange: HTTPExchange
    let counters: TestCounters

    init(exchange: HTTPExchange, counters: TestCounters) {
        self.exchange = exchange
        self.counters = counters
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        let wasAborted = exchange.isAborted
        // Every call below must be a no-op on an exchange whose client left.
        let sawContext = exchange.connectionContext != nil
        exchange.connectionContext = LateMarker()
        let sawContextAfterSet = exchange.connectionContext != nil
        exchange.readBody(delegate: self)
        exchange.pauseBody()
        exchange.resumeBody()
        exchange.startResponse(status: 200, contentType: "text/plain")
        exchange.write("late")
        exchange.finish()
        exchange.respond(status: 200, contentType: "text/plain", body: "late")
        let queued = exchange.queuedOutputBytes
        exchange.abort()
        let reached = sawContext || sawContextAfterSet || queued != 0 || exchange.isResponseStarted
        counters.update {
            $0.lateReplies += 1
            if wasAborted && reached { $0.lateRepliesReachingAConnection += 1 }
        }
    }
}

/// A connection context set by `LateReply` (and by the route, so a live connection shows it).
final class LateMarker {}
