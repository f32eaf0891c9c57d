// SPDX-License-Identifier: Apache-2.0
// The loop's spare arrays for held replies: reused with their capacity, and bounded in number
// and size, so a burst of large replies does not stay in a loop's memory.
import Testing
@testable import TollgateGateway

struct HeldReplyBuffersTests {
    @Test func aGivenBackArrayIsTakenAgainEmptyWithItsCapacity() {
        let spares = HeldReplyBuffers()
        var buffer = spares.take()
        #expect(buffer.capacity == 0)
        buffer.append(contentsOf: Array(repeating: 7, count: 300))
        let capacity = buffer.capacity
        spares.give(&buffer)
        #expect(buffer.isEmpty && buffer.capacity == 0 && spares.count == 1)
        let again = spares.take()
        #expect(again.isEmpty && again.capacity == capacity && spares.count == 0)
    }

    @Test func largeArraysAndArraysBeyondTheLimitAreLetGo() {
        let spares = HeldReplyBuffers()
        var large = [UInt8](repeating: 1, count: HeldReplyBuffers.keptCapacity + 1)
        spares.give(&large)
        #expect(large.isEmpty && spares.count == 0)
        for _ in 0..<(HeldReplyBuffers.keptBuffers + 3) {
            var small = [UInt8](repeating: 2, count: 100)
            spares.give(&small)
        }
        #expect(spares.count == HeldReplyBuffers.keptBuffers)
    }
}
