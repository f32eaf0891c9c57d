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
/// Entries carry their deadline and sequence, so sifting compares without touching the
/// tokens and moves them without retaining or releasing.
struct TimerQueue {
    private struct Entry {
        var deadline: UInt64
        var sequence: UInt64
        let token: TimerToken

        @inline(__always)
        func precedes(_ other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }

    private var heap: [Entry] = []
    private var sequence: UInt64 = 0
    /// Fired tokens nobody kept (most are: timer slots discard theirs), reused by `push` so a
    /// timer per request costs no allocation.
    private var spare: [TimerToken] = []
    /// Cancelled tokens, reused by `push` once their owner has let go of them (a timer armed
    /// and cancelled per request, as a first-byte timeout is).
    private var cancelled: [TimerToken] = []
    private static let maxSpare = 1024

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var earliest: UInt64? { heap.first?.deadline }

    @discardableResult
    mutating func push(_ handler: any TimerHandler, at deadline: UInt64) -> TimerToken {
        sequence &+= 1
        let token: TimerToken
        if let reused = takeSpare() {
            token = reused
            token.deadline = deadline
            token.sequence = sequence
            token.handler = handler
            token.heapIndex = heap.count
        } else {
            token = TimerToken(deadline: deadline, sequence: sequence, handler: handler, heapIndex: heap.count)
        }
        heap.append(Entry(deadline: deadline, sequence: sequence, token: token))
        siftUp(heap.count - 1)
        return token
    }

    /// A token no one else holds, or nil. A token still held by its old owner is never
    /// reused: that owner could cancel it, which would cancel someone else's timer.
    private mutating func takeSpare() -> TimerToken? {
        if let token = spare.popLast() { return token }
        while var token = cancelled.popLast() {
            if isKnownUniquelyReferenced(&token) { return token }
        }
        return nil
    }

    /// Removes and returns the earliest entry if it is due.
    mutating func popDue(now: UInt64) -> TimerToken? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        remove(at: 0)
        return first.token
    }

    /// Takes back a token that has fired, if nothing else holds it (its handler is released
    /// either way).
    mutating func recycle(_ token: inout TimerToken) {
        token.handler = nil
        if spare.count < Self.maxSpare && isKnownUniquelyReferenced(&token) { spare.append(token) }
    }

    mutating func cancel(_ token: TimerToken) {
        guard token.heapIndex >= 0, token.heapIndex < heap.count, heap[token.heapIndex].token === token else { return }
        remove(at: token.heapIndex)
        token.handler = nil
        if cancelled.count < Self.maxSpare { cancelled.append(token) }
    }

    /// Takes the entry at `index` out: the last entry moves into its place and then to where
    /// it belongs.
    private mutating func remove(at index: Int) {
        let lastIndex = heap.count - 1
        heap.withUnsafeMutableBufferPointer { h in
            guard let base = h.baseAddress, index < h.count else { return }
            base[index].token.heapIndex = -1
            if index != lastIndex { h.swapAt(index, lastIndex) }
        }
        heap.removeLast()
        guard index < heap.count else { return }
        heap[index].token.heapIndex = index
        if siftDown(index) == index { siftUp(index) }
    }

    /// Moves the entry at `start` up to its place: parents that come later move down into
    /// the hole, and the entry is written once. Entries are moved, never copied, so no token
    /// is retained or released on the way (nothing in the loop can trap and leave the hole).
    private mutating func siftUp(_ start: Int) {
        heap.withUnsafeMutableBufferPointer { h in
            guard let base = h.baseAddress, start < h.count else { return }
            var child = start
            let moving = (base + child).move()
            while child > 0 {
                let parent = (child - 1) / 2
                guard moving.precedes(base[parent]) else { break }
                (base + child).moveInitialize(from: base + parent, count: 1)
                base[child].token.heapIndex = child
                child = parent
            }
            moving.token.heapIndex = child
            (base + child).initialize(to: consume moving)
        }
    }

    /// Moves the entry at `start` down to its place; returns where it went.
    @discardableResult
    private mutating func siftDown(_ start: Int) -> Int {
        heap.withUnsafeMutableBufferPointer { h in
            guard let base = h.baseAddress, start < h.count else { return start }
            let count = h.count
            var parent = start
            let moving = (base + parent).move()
            while true {
                let left = 2 * parent + 1
                guard left < count else { break }
                var smallest = left
                let right = left + 1
                if right < count && base[right].precedes(base[left]) { smallest = right }
                guard base[smallest].precedes(moving) else { break }
                (base + parent).moveInitialize(from: base + smallest, count: 1)
                base[parent].token.heapIndex = parent
                parent = smallest
            }
            moving.token.heapIndex = parent
            (base + parent).initialize(to: consume moving)
            return parent
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
