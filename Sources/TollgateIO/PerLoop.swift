// SPDX-License-Identifier: Apache-2.0
// One value per loop of a group, each set and used only on its own loop's thread (swift-nio's
// NIOLoopBound, one slot per loop). Other threads reach the values only through `forEach`, which
// hops onto each loop; that is what makes the @unchecked Sendable below true.

public final class PerLoop<Value>: @unchecked Sendable {
    /// A slot, read and written only on the thread of the loop with the same index (which is
    /// why it may cross threads: only that loop's tasks ever touch it).
    private final class Slot: @unchecked Sendable {
        var value: Value?
    }

    private let loops: [EventLoop]
    private let slots: [Slot]

    public init(_ group: EventLoopGroup) {
        loops = group.loops
        slots = group.loops.map { _ in Slot() }
    }

    /// Stores the calling loop's value; call on that loop.
    public func set(_ value: Value, on loop: EventLoop) {
        loop.assertInLoop()
        slots[loop.index].value = value
    }

    /// The calling loop's value; call on that loop.
    public func get(on loop: EventLoop) -> Value? {
        loop.assertInLoop()
        return slots[loop.index].value
    }

    /// Runs `body` on every loop with that loop's value (if set). Safe from any thread.
    public func forEach(_ body: @escaping @Sendable (Value) -> Void) {
        for (index, loop) in loops.enumerated() {
            let slot = slots[index]
            loop.execute {
                if let value = slot.value { body(value) }
            }
        }
    }
}
