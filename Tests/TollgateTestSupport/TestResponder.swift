// SPDX-License-Identifier: Apache-2.0
// A responder with the behaviours the server tests need, one route each: an immediate answer
// (/hello), a body echo with backpressure (/echo, /hold), an early answer that leaves the body
// unread (/deny), a delayed answer from a loop timer (/slow), and a large stream that honours
// write backpressure (/stream). It reports to the test through `TestCounters`.
import TollgateHTTP
import TollgateIO
import TollgateCore

final class TestResponder: HTTPResponder {
    let loop: EventLoop
    let counters: TestCounters

    init(loop: EventLoop, counters: TestCounters) {
        self.loop = loop
        self.counters = counters
    }

    func respond(to exchange: HTTPExchange) {
        counters.update { $0.started += 1 }
        let head = exchange.head
        if head.pathEquals("/hello") {
            exchange.respond(status: 200, contentType: "text/plain", body: "hello \(head.query ?? "")")
        } else if head.pathEquals("/echo") {
            let echo = BodyCounter(exchange: exchange, counters: counters, pauseEvery: head.query == "pause" ? 4096 : 0)
            exchange.context = echo
            exchange.readBody(delegate: echo)
        } else if head.pathEquals("/deny") {
            // A 401-like early answer: the body (if any) is never read, the connection closes.
            exchange.respondError(status: 401, message: "denied", code: "invalid_api_key", close: true)
        } else if head.pathEquals("/hold") {
            // Reads one piece of the body, then pauses for good: the rest must stay with the
            // client's kernel, not in our memory.
            let hold = BodyCounter(exchange: exchange, counters: counters, pauseEvery: 1, resume: false)
            exchange.context = hold
            exchange.readBody(delegate: hold)
        } else if head.pathEquals("/slow") {
            let millis = UInt64(head.query ?? "100") ?? 100
            let delayed = DelayedReply(exchange: exchange)
            exchange.context = delayed
            exchange.delegate = delayed
            loop.schedule(delayed, at: loop.now + millis * 1_000_000)
        } else if head.pathEquals("/late") {
            // Like /slow, and probes the exchange when it fires (see LateReply).
            let millis = UInt64(head.query ?? "100") ?? 100
            let late = LateReply(exchange: exchange, counters: counters)
            exchange.connectionContext = LateMarker()
            loop.schedule(late, at: loop.now + millis * 1_000_000)
        } else if head.pathEquals("/stream") {
            let total = Int(head.query ?? "1000000") ?? 1_000_000
            let stream = Streamer(exchange: exchange, total: total, counters: counters)
            exchange.context = stream
            exchange.delegate = stream
            exchange.startResponse(status: 200, contentType: "application/octet-stream")
            stream.pump()
        } else {
            exchange.respondError(status: 404, message: "no route", code: "not_found")
        }
    }

    func exchangeEnded(_ exchange: HTTPExchange) {
        counters.update {
            $0.ended += 1
            if exchange.isAborted { $0.aborted += 1 }
        }
    }

    func requestRejected(status: Int, message: String, id: RequestID, peer: IPAddress, loop: EventLoop) {
        counters.update { $0.rejected.append(status) }
    }
}

/// Counts body bytes (optionally pausing and resuming via the loop to exercise backpressure)
/// and answers with the count.
final class BodyCounter: HTTPExchangeDelegate, TimerHandler {
    let exchange: HTTPExchange
    let counters: TestCounters
    let pauseEvery: Int
    let resume: Bool
    var count = 0
    var sincePause = 0

    init(exchange: HTTPExchange, counters: TestCounters, pauseEvery: Int, resume: Bool = true) {
        self.exchange = exchange
        self.counters = counters
        self.pauseEvery = pauseEvery
        self.resume = resume
    }

    func exchangeBody(_ exchange: HTTPExchange, _ bytes: UnsafeRawBufferPointer) {
        count += bytes.count
        sincePause += bytes.count
        let total = count
        counters.update { $0.bodyBytes = total }
        if pauseEvery > 0 && sincePause >= pauseEvery {
            sincePause = 0
            exchange.pauseBody()
            if resume { exchange.loop.schedule(self, at: exchange.loop.now + 100_000) }
        }
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        exchange.resumeBody()
    }

    func exchangeBodyEnded(_ exchange: HTTPExchange) {
        let total = count
        counters.update { $0.bodyBytes = total }
        exchange.respond(status: 200, contentType: "text/plain", body: "\(count)")
    }
}

final class DelayedReply: HTTPExchangeDelegate, TimerHandler {
    let exchange: HTTPExchange
    init(exchange: HTTPExchange) { self.exchange = exchange }
    func timerFired(deadline: UInt64, now: UInt64) {
        exchange.respond(status: 200, contentType: "text/plain", body: "late")
    }
}

/// Writes `total` bytes in 16 KiB chunks, stopping when `write` reports backpressure and
/// resuming on `exchangeWritable`.
final class Streamer: HTTPExchangeDelegate {
    let exchange: HTTPExchange
    let total: Int
    let counters: TestCounters
    var sent = 0
    let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 16 * 1024)

    init(exchange: HTTPExchange, total: Int, counters: TestCounters) {
        self.exchange = exchange
        self.total = total
        self.counters = counters
    }

    func pump() {
        while sent < total && !exchange.isFinished {
            let n = min(chunk.count, total - sent)
            sent += n
            let accepted = chunk.withUnsafeBytes { exchange.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            let queued = exchange.queuedOutputBytes, produced = sent
            counters.update {
                $0.maxQueued = max($0.maxQueued, queued)
                $0.producedBytes = produced
            }
            if !accepted {
                counters.update { $0.blockedWrites += 1 }
                return
            }
        }
        if sent >= total {
            let s = sent
            counters.update { $0.streamedBytes = s }
            exchange.finish()
        }
    }

    func exchangeWritable(_ exchange: HTTPExchange) { pump() }
}
