// SPDX-License-Identifier: Apache-2.0
// A binary min-heap of deadlines. Cancellation is lazy: a handler that no longer cares about a
// deadline ignores the callback, so rescheduling per request (keep-alive idle timers) costs no
// heap surgery; see `TimerSlot` for the bookkeeping that keeps one entry per owner.

/// Something that wants to be called back on its loop at a monotonic deadline.
public protocol TimerHandler: AnyObject {
    /// Called on the loop thread once `now >= deadline`.
    func timerFired(deadline: UInt64, now: UInt64)
}

/// A scheduled callback; keep it to cancel the timer before it fires.
public final class TimerToken {
    fileprivate(set) var deadline: UInt64
    fileprivate(set) var sequence: UInt64
    fileprivate(set) var handler: (any TimerHandler)?
    /// Position in the heap, -1 once fired or cancelled.
    fileprivate var heapIndex: Int

    fileprivate init(deadline: UInt64, sequence: UInt64, handler: any TimerHandler, heapIndex: Int) {
        self.deadline = deadline
        self.sequence = sequence
        self.handler = handler
        self.heapIndex = heapIndex
    }

    public var isPending: Bool { heapIndex >= 0 }
}

/// An indexed min-heap: O(log n) push, pop and cancel. Cancelling removes the entry at once,
/// so a request that finishes early does not stay alive (or in the heap) until its timeout.
struct TimerQueue {
    private var heap: [TimerToken] = []
    private var sequence: UInt64 = 0
    /// Fired tokens nobody kept (most are: timer slots discard theirs), reused by `push` so a
    /// timer per request costs no allocation.
    private var spare: [TimerToken] = []

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var earliest: UInt64? { heap.first?.deadline }

    @discardableResult
    mutating func push(_ handler: any TimerHandler, at deadline: UInt64) -> TimerToken {
        sequence &+= 1
        let token: TimerToken
        if let reused = spare.popLast() {
            token = reused
            token.deadline = deadline
            token.sequence = sequence
            token.handler = handler
            token.heapIndex = heap.count
        } else {
            token = TimerToken(deadline: deadline, sequence: sequence, handler: handler, heapIndex: heap.count)
        }
        heap.append(token)
        siftUp(heap.count - 1)
        return token
    }

    /// Removes and returns the earliest entry if it is due.
    mutating func popDue(now: UInt64) -> TimerToken? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        remove(at: 0)
        return first
    }

    /// Takes back a token that has fired, if nothing else holds it (its handler is released
    /// either way).
    mutating func recycle(_ token: inout TimerToken) {
        token.handler = nil
        if spare.count < 1024 && isKnownUniquelyReferenced(&token) { spare.append(token) }
    }

    mutating func cancel(_ token: TimerToken) {
        guard token.heapIndex >= 0, token.heapIndex < heap.count, heap[token.heapIndex] === token else { return }
        remove(at: token.heapIndex)
        token.handler = nil
    }

    private mutating func remove(at index: Int) {
        let removed = heap[index]
        let last = heap.removeLast()
        removed.heapIndex = -1
        guard index < heap.count else { return }
        heap[index] = last
        last.heapIndex = index
        siftDown(index)
        siftUp(last.heapIndex)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        let x = heap[a], y = heap[b]
        return x.deadline < y.deadline || (x.deadline == y.deadline && x.sequence < y.sequence)
    }

    private mutating func swapAt(_ i: Int, _ j: Int) {
        heap.swapAt(i, j)
        heap[i].heapIndex = i
        heap[j].heapIndex = j
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { return }
            swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let count = heap.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            var smallest = left
            let right = left + 1
            if right < count && less(right, left) { smallest = right }
            guard less(smallest, parent) else { return }
            swapAt(smallest, parent)
            parent = smallest
        }
    }
}

/// One owner's deadline with at most one live heap entry in the common case: moving the
/// deadline later costs nothing (the early entry fires, sees the new deadline and re-arms);
/// moving it earlier pushes a new entry.
public struct TimerSlot: Sendable {
    /// The deadline the owner cares about now; `.max` = none.
    public private(set) var deadline: UInt64 = .max
    /// The earliest entry this owner has in the heap; `.max` = none pending.
    private var armed: UInt64 = .max

    public init() {}

    /// Sets the deadline; returns the deadline to schedule on the loop, if one is needed.
    public mutating func set(_ newDeadline: UInt64) -> UInt64? {
        deadline = newDeadline
        guard newDeadline < armed else { return nil }
        armed = newDeadline
        return newDeadline
    }

    public mutating func clear() { deadline = .max }

    public enum Outcome: Equatable {
        case expired
        case reschedule(UInt64)
        case ignore
    }

    /// Decides what a fired heap entry means for this owner.
    public mutating func fired(entryDeadline: UInt64, now: UInt64) -> Outcome {
        if entryDeadline == armed { armed = .max }
        if deadline <= now {
            deadline = .max
            return .expired
        }
        if deadline != .max && armed == .max {
            armed = deadline
            return .reschedule(deadline)
        }
        return .ignore
    }
}
