// SPDX-License-Identifier: Apache-2.0
// A first-in, first-out queue on an array read from an index: taking the head shifts nothing
// (unlike `removeFirst`), and once every element is taken the array empties, keeping its
// capacity for the next batch. What a loop-confined producer and its consumer hold between
// steps (GradioMultipartPump's parsed events, GradioStreamRelay's SSE events).

struct FIFOQueue<Element> {
    private var elements: [Element] = []
    private var head = 0

    var isEmpty: Bool { head >= elements.count }

    mutating func append(_ element: Element) {
        elements.append(element)
    }

    /// The oldest element not yet taken, or nil when there is none.
    mutating func popFirst() -> Element? {
        guard head < elements.count else { return nil }
        let element = elements[head]
        head += 1
        if head == elements.count {
            elements.removeAll(keepingCapacity: true)
            head = 0
        }
        return element
    }
}
