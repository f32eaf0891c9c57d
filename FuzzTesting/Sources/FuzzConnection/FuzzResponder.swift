// SPDX-License-Identifier: Apache-2.0
// Every kind of answer a responder gives, chosen by the request's path, so the fuzzer reaches
// each way an exchange can end: at once, later, early with the body unread, after echoing a
// paused body, streamed under backpressure, aborted mid-stream, or before the body ended.
import TollgateHTTP
import TollgateIO
import TollgateCore

final class FuzzResponder: HTTPResponder {
    let loop: EventLoop
    init(loop: EventLoop) { self.loop = loop }

    func respond(to exchange: HTTPExchange) {
        let head = exchange.head
        let number = min(Int(head.query ?? "") ?? 3, 1 << 20)
        if head.pathEquals("/hello") {
            exchange.respond(status: 200, contentType: "text/plain", body: "hello")
        } else if head.pathEquals("/deny") {
            exchange.respondError(status: 401, message: "denied", code: "invalid_api_key", close: true)
        } else if head.pathEquals("/early") {
            exchange.respond(status: 200, body: "{}")  // body (if any) never read
        } else if head.pathEquals("/echo") || head.pathEquals("/pause") || head.pathEquals("/first") {
            let reader = BodyReader(exchange: exchange, pauses: head.pathEquals("/pause"), answerAtFirst: head.pathEquals("/first"))
            exchange.context = reader
            exchange.readBody(delegate: reader)
        } else if head.pathEquals("/slow") {
            let later = Later(exchange: exchange)
            exchange.context = later
            exchange.delegate = later
            loop.schedule(later, at: loop.now + UInt64(min(number, 20)) * 1_000_000)
        } else if head.pathEquals("/stream") || head.pathEquals("/abort") {
            let stream = Stream(exchange: exchange, total: number, abortHalfway: head.pathEquals("/abort"))
            exchange.context = stream
            exchange.delegate = stream
            exchange.startResponse(status: 200, contentType: "text/event-stream")
            stream.pump()
        } else {
            exchange.respondError(status: 404, message: "no route", code: "not_found")
        }
    }

    func exchangeEnded(_ exchange: HTTPExchange) {}
    func requestRejected(status: Int, message: String, id: RequestID, peer: IPAddress, loop: EventLoop) {}
}

final class BodyReader: HTTPExchangeDelegate, TimerHandler {
    let exchange: HTTPExchange
    let pauses: Bool
    let answerAtFirst: Bool
    var count = 0

    init(exchange: HTTPExchange, pauses: Bool, answerAtFirst: Bool) {
        self.exchange = exchange
        self.pauses = pauses
        self.answerAtFirst = answerAtFirst
    }

    func exchangeBody(_ exchange: HTTPExchange, _ bytes: UnsafeRawBufferPointer) {
        count += bytes.count
        if answerAtFirst {
            exchange.respond(status: 200, body: "{\"first\":\(bytes.count)}")
        } else if pauses {
            exchange.pauseBody()
            exchange.loop.schedule(self, at: exchange.loop.now + 200_000)
        }
    }

    func timerFired(deadline: UInt64, now: UInt64) { exchange.resumeBody() }

    func exchangeBodyEnded(_ exchange: HTTPExchange) {
        exchange.respond(status: 200, contentType: "text/plain", body: "\(count)")
    }
}

final class Later: HTTPExchangeDelegate, TimerHandler {
    let exchange: HTTPExchange
    init(exchange: HTTPExchange) { self.exchange = exchange }
    func timerFired(deadline: UInt64, now: UInt64) {
        exchange.respond(status: 200, contentType: "text/plain", body: "late")
    }
}

final class Stream: HTTPExchangeDelegate {
    let exchange: HTTPExchange
    let total: Int
    let abortHalfway: Bool
    var sent = 0
    static let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 4096)

    init(exchange: HTTPExchange, total: Int, abortHalfway: Bool) {
        self.exchange = exchange
        self.total = total
        self.abortHalfway = abortHalfway
    }

    func pump() {
        while sent < total && !exchange.isFinished {
            if abortHalfway && sent >= total / 2 {
                exchange.abort()
                return
            }
            let n = min(Self.chunk.count, total - sent)
            sent += n
            let accepted = Self.chunk.withUnsafeBytes { exchange.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            if !accepted { return }
        }
        if sent >= total { exchange.finish() }
    }

    func exchangeWritable(_ exchange: HTTPExchange) { pump() }
}
