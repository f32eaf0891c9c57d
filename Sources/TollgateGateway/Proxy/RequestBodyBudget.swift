// SPDX-License-Identifier: Apache-2.0
// `server.max_buffered`: the request body bytes all clients together may have in the gateway's
// memory (SPEC §2). A request reserves what it may hold before its body is read; what does not
// fit waits, first come first served (a small body that fits may pass), with its body unread (backpressure: the bytes stay in the
// client's kernel and its sends block). Reserving up front rather than per chunk is what keeps
// this deadlock-free: bodies whose `model` comes last must be held whole before they can move,
// and 50 of them admitted piecemeal would each hold a part and wait for each other forever.
// A release hands the freed bytes to the waiters in order, each on its own loop.
import Synchronization
import TollgateIO

/// A request waiting for body budget; called on its own loop.
protocol BodyBudgetWaiter: AnyObject {
    var loop: EventLoop { get }
    /// The reservation with `ticket` was granted: the body may be read now. Returns false
    /// when the waiter no longer wants it (it withdrew too late): the bytes go back.
    func bodyBudgetGranted(ticket: UInt64, bytes: Int) -> Bool
    /// The wait with `ticket` reached the limit its lease set (BudgetWaitTimer).
    func bodyBudgetWaitExpired(ticket: UInt64)
}

public final class RequestBodyBudget: Sendable {
    /// A queued reservation; the waiter is loop-confined and only ever called on its loop.
    private struct Pending: @unchecked Sendable {
        let ticket: UInt64
        let bytes: Int
        weak var waiter: (any BodyBudgetWaiter)?
        let loop: EventLoop
    }

    private struct State {
        var used = 0
        var nextTicket: UInt64 = 1
        var queue: [Pending] = []
        var queueHead = 0
    }

    public let capacity: Int
    private let state = Mutex(State())
    /// Reservations up to this size may pass waiting ones when they fit.
    static let smallBody = 64 << 10

    public init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    /// Bytes reserved right now (tests, metrics).
    public var reserved: Int { state.withLock { $0.used } }

    /// Reserves `bytes` (at most `capacity`). Returns nil when granted at once; otherwise the
    /// waiter is queued behind everyone already waiting and the returned ticket can withdraw
    /// it. `bodyBudgetGranted` is then called on the waiter's loop once the bytes are its own.
    func reserve(_ bytes: Int, for waiter: any BodyBudgetWaiter) -> UInt64? {
        let amount = min(max(bytes, 0), capacity)
        return state.withLock { s -> UInt64? in
            // A small body that fits goes ahead of a large waiter: chat requests keep flowing
            // while an upload waits for room. It cannot starve the waiter for long: small
            // bodies are few bytes each and done quickly.
            let mayPass = s.queueHead == s.queue.count || amount <= Self.smallBody
            if mayPass && s.used + amount <= capacity {
                s.used += amount
                return nil
            }
            let ticket = s.nextTicket
            s.nextTicket += 1
            s.queue.append(Pending(ticket: ticket, bytes: amount, waiter: waiter, loop: waiter.loop))
            return ticket
        }
    }

    /// Reserves `bytes` only if they are free now and no larger reservation waits for them
    /// (the same order as `reserve`); never queues. True when they are reserved.
    func tryReserve(_ bytes: Int) -> Bool {
        let amount = max(bytes, 0)
        return state.withLock { s -> Bool in
            let mayPass = s.queueHead == s.queue.count || amount <= Self.smallBody
            guard mayPass, amount <= capacity, s.used + amount <= capacity else { return false }
            s.used += amount
            return true
        }
    }

    /// Gives back `bytes` of a granted reservation and grants waiting ones in order.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        let granted = state.withLock { s -> [Pending] in
            s.used = max(s.used - bytes, 0)
            return Self.grantWaiting(&s, capacity: capacity)
        }
        notify(granted)
    }

    /// Withdraws a queued reservation (its request ended while waiting). A ticket already
    /// granted is released instead, so the bytes are never lost.
    func withdraw(_ ticket: UInt64) {
        let granted = state.withLock { s -> [Pending] in
            if let index = s.queue[s.queueHead...].firstIndex(where: { $0.ticket == ticket }) {
                s.queue.remove(at: index)
                return Self.grantWaiting(&s, capacity: capacity)
            }
            return []
        }
        notify(granted)
    }

    private static func grantWaiting(_ s: inout State, capacity: Int) -> [Pending] {
        var granted: [Pending] = []
        while s.queueHead < s.queue.count {
            let next = s.queue[s.queueHead]
            guard s.used + next.bytes <= capacity else { break }
            s.used += next.bytes
            granted.append(next)
            s.queueHead += 1
        }
        if s.queueHead > 64 && s.queueHead * 2 > s.queue.count {
            s.queue.removeFirst(s.queueHead)
            s.queueHead = 0
        }
        return granted
    }

    private func notify(_ granted: [Pending]) {
        for pending in granted {
            let box = GrantBox(pending: pending, budget: self)
            pending.loop.execute { box.deliver() }
        }
    }

    /// Carries a grant to the waiter's loop; a waiter gone meanwhile gives its bytes back.
    private final class GrantBox: @unchecked Sendable {
        let pending: Pending
        let budget: RequestBodyBudget
        init(pending: Pending, budget: RequestBodyBudget) {
            self.pending = pending
            self.budget = budget
        }
        func deliver() {
            if let waiter = pending.waiter, waiter.bodyBudgetGranted(ticket: pending.ticket, bytes: pending.bytes) { return }
            budget.release(pending.bytes)
        }
    }
}
