// SPDX-License-Identifier: Apache-2.0
// A binary min-heap of deadlines. Cancellation is lazy: a handler that no longer cares about a
// deadline ignores the callback, so rescheduling per request (keep-alive idle timers) costs no
// heap surgery; see `TimerSlot` for the bookkeeping that keeps one entry per owner.

/// Something that wants to be called back on its loop at a monotonic deadline.
public protocol TimerHandler: AnyObject {
    /// Called on the loop thread once `now >= deadline`.
    func timerFired(deadline: UInt64, now: UInt64)
}

struct TimerQueue {
    struct Entry {
        let deadline: UInt64
        let sequence: UInt64   // FIFO among equal deadlines
        let handler: any TimerHandler
    }

    private var heap: [Entry] = []
    private var sequence: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var earliest: UInt64? { heap.first?.deadline }

    mutating func push(_ handler: any TimerHandler, at deadline: UInt64) {
        sequence &+= 1
        heap.append(Entry(deadline: deadline, sequence: sequence, handler: handler))
        siftUp(heap.count - 1)
    }

    /// Removes and returns the earliest entry if it is due.
    mutating func popDue(now: UInt64) -> Entry? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        return first
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        let x = heap[a], y = heap[b]
        return x.deadline < y.deadline || (x.deadline == y.deadline && x.sequence < y.sequence)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { return }
            heap.swapAt(child, parent)
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
            heap.swapAt(smallest, parent)
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
