// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import TollgateBackends

struct FIFOQueueTests {
    @Test func takesInArrivalOrderAcrossBatches() {
        var queue = FIFOQueue<Int>()
        #expect(queue.isEmpty && queue.popFirst() == nil)
        queue.append(1)
        queue.append(2)
        #expect(queue.popFirst() == 1)
        // Appended while the first batch is half taken: still after what came before.
        queue.append(3)
        #expect(!queue.isEmpty)
        #expect(queue.popFirst() == 2)
        #expect(queue.popFirst() == 3)
        #expect(queue.isEmpty && queue.popFirst() == nil)
        // Drained, then used again.
        queue.append(4)
        #expect(queue.popFirst() == 4)
        #expect(queue.popFirst() == nil)
    }
}
