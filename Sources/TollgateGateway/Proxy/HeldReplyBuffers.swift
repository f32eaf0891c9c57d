// SPDX-License-Identifier: Apache-2.0
// A loop's spare byte arrays for plain replies held whole until their figures are known
// (ResponseRelay): a non-streamed reply of a few KiB is held on every proxied request, and
// taking a kept array with its capacity saves an allocation and a free each time. Only small
// arrays are kept, and only a few, so what a loop keeps stays within `keptBuffers` ×
// `keptCapacity` bytes however large the replies were. Loop-confined.

final class HeldReplyBuffers {
    /// Arrays with more capacity than this are let go (a large reply's memory goes back).
    static let keptCapacity = 16 << 10
    /// A loop holds a few replies at once at most between their last byte and their drain.
    static let keptBuffers = 4

    private var spare: [[UInt8]] = []

    init() {
        spare.reserveCapacity(Self.keptBuffers)
    }

    /// An empty array, with the capacity of one used before when there is one.
    func take() -> [UInt8] {
        spare.popLast() ?? []
    }

    /// Takes `buffer` back (emptied, capacity kept) when it is small and there is room; leaves
    /// `buffer` empty either way.
    func give(_ buffer: inout [UInt8]) {
        guard buffer.capacity > 0, buffer.capacity <= Self.keptCapacity, spare.count < Self.keptBuffers else {
            buffer = []
            return
        }
        buffer.removeAll(keepingCapacity: true)
        spare.append(buffer)
        buffer = []
    }

    /// Arrays kept now (tests).
    var count: Int { spare.count }
}
