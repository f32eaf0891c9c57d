// SPDX-License-Identifier: Apache-2.0
// SPEC §4: "only when every candidate is full does the request wait (FIFO, `queue_timeout`)".
// One bounded queue per model, shared by every loop: a request whose candidates are all full
// takes a ticket; whenever a slot of one of the model's backends frees up (on any loop), the
// first waiter that can use that backend (one that has not already failed on it) is called on
// its own loop to try again. A woken request that still finds nothing goes back to the front,
// so the order holds; a request that arrives while others wait queues behind them rather than
// taking the slot they wait for, and calls the first waiter that can use the slot it saw free
// (itself, when nobody ahead can). Same shape as RequestBodyBudget's waiters.
import Synchronization
import TollgateIO

/// A request waiting for a slot; called on its own loop.
protocol SlotWaiter: AnyObject {
    var loop: EventLoop { get }
    /// A slot of `backend` (nil: some backend) may be free: try again. The ticket is spent;
    /// wait again with `requeueFront`, or pass the call on with `wakeOne(for: backend)`.
    func slotMayBeFree(ticket: UInt64, backend: String?)
}

final class ModelWaitQueue: Sendable {
    private struct Pending: @unchecked Sendable {
        let ticket: UInt64
        weak var waiter: (any SlotWaiter)?
        let loop: EventLoop
        /// The backends it already tried (a slot freed there is no use to it). Fixed while it
        /// waits: a request tries nothing from the line.
        let tried: [String]

        func canUse(_ backend: String?) -> Bool {
            guard let backend else { return true }
            return !tried.contains(backend)
        }
    }

    private struct State {
        var queue: [Pending] = []
        var head = 0
        var nextTicket: UInt64 = 1
        var count: Int { queue.count - head }
    }

    /// At most this many requests wait; more get 503 at once (SPEC §7: every queue bounded).
    var capacity: Int { limit.load(ordering: .relaxed) }
    private let limit: Atomic<Int>
    private let state = Mutex(State())
    private let waitingCount = Atomic<Int>(0)
    /// Keeps the board's total of waiting requests (weak: the board owns its lines).
    private weak let board: BackendBoard?

    init(capacity: Int, board: BackendBoard? = nil) {
        limit = Atomic(max(1, capacity))
        self.board = board
    }

    /// A reload sized the line anew (its candidates' slots changed): the same line, so who
    /// waits in it stays in it. Shrunk below its length, it takes nobody new until it is shorter.
    func resize(_ capacity: Int) {
        limit.store(max(1, capacity), ordering: .relaxed)
    }

    /// Publishes the line's length (under the lock), and the change to the board's total.
    private func publish(_ count: Int) {
        let before = waitingCount.exchange(count, ordering: .relaxed)
        if before != count { board?.waiting.wrappingAdd(count &- before, ordering: .relaxed) }
    }

    /// Requests waiting now (one atomic load: the release path's check).
    var waiting: Int { waitingCount.load(ordering: .relaxed) }

    /// Joins the end of the line. nil when the line is full.
    func enqueue(_ waiter: any SlotWaiter, tried: [String] = []) -> UInt64? {
        state.withLock { s -> UInt64? in
            guard s.count < capacity else { return nil }
            let ticket = s.nextTicket
            s.nextTicket &+= 1
            s.queue.append(Pending(ticket: ticket, waiter: waiter, loop: waiter.loop, tried: tried))
            publish(s.count)
            return ticket
        }
    }

    /// Back to the front of the line (a woken request that found every slot taken again).
    func requeueFront(_ waiter: any SlotWaiter, tried: [String] = []) -> UInt64 {
        state.withLock { s -> UInt64 in
            let ticket = s.nextTicket
            s.nextTicket &+= 1
            let pending = Pending(ticket: ticket, waiter: waiter, loop: waiter.loop, tried: tried)
            if s.head > 0 {
                s.head -= 1
                s.queue[s.head] = pending
            } else {
                s.queue.insert(pending, at: 0)
            }
            publish(s.count)
            return ticket
        }
    }

    /// Leaves the line (timed out, or the client went away). False when the ticket was
    /// already called.
    @discardableResult
    func withdraw(_ ticket: UInt64) -> Bool {
        state.withLock { s -> Bool in
            guard let index = s.queue[s.head...].firstIndex(where: { $0.ticket == ticket }) else { return false }
            s.queue.remove(at: index)
            publish(s.count)
            return true
        }
    }

    /// Calls the first waiter that can use a slot of `backend` (nil: any) on its loop;
    /// waiters that went away are dropped on the way, those that already failed on `backend`
    /// keep their place. False when nobody could be called.
    @discardableResult
    func wakeOne(for backend: String? = nil) -> Bool {
        let called = state.withLock { s -> Pending? in
            // The waiters gone at the head leave the line.
            while s.head < s.queue.count, s.queue[s.head].waiter == nil { s.head += 1 }
            var found: Pending?
            if s.head < s.queue.count, s.queue[s.head].canUse(backend) {
                found = s.queue[s.head]
                s.head += 1
            } else if let index = s.queue[s.head...].firstIndex(where: { $0.waiter != nil && $0.canUse(backend) }) {
                found = s.queue.remove(at: index)
            }
            Self.compact(&s)
            publish(s.count)
            return found
        }
        guard let called else { return false }
        let box = CallBox(pending: called, queue: self, backend: backend)
        called.loop.execute { box.deliver() }
        return true
    }

    private static func compact(_ s: inout State) {
        if s.head == s.queue.count {
            s.queue.removeAll(keepingCapacity: true)
            s.head = 0
        } else if s.head > 64 && s.head * 2 > s.queue.count {
            s.queue.removeFirst(s.head)
            s.head = 0
        }
    }

    /// Carries a call to the waiter's loop; a waiter gone meanwhile passes the slot on.
    private final class CallBox: @unchecked Sendable {
        let pending: Pending
        let queue: ModelWaitQueue
        let backend: String?
        init(pending: Pending, queue: ModelWaitQueue, backend: String?) {
            self.pending = pending
            self.queue = queue
            self.backend = backend
        }
        func deliver() {
            if let waiter = pending.waiter {
                waiter.slotMayBeFree(ticket: pending.ticket, backend: backend)
            } else {
                queue.wakeOne(for: backend)
            }
        }
    }
}
