// SPDX-License-Identifier: Apache-2.0
// The SSE reply of a streamed `/v1/run` call to a Gradio generator: each `generating` output as
// `event: generating`, the final one (files inline) as `event: complete` — Gradio's own event
// names, so a client reads the stream as it would read the app's. The head goes out with the
// first event: until then a failed call can still move on to the next backend. Events wait
// here while the client is slow; the SSE transfer pauses meanwhile, so at most one upstream
// chunk's worth of events is held. Loop-confined.

struct GradioStreamRelay {
    private var queue = FIFOQueue<[UInt8]>()
    var headSent = false
    /// The client said wait (`backendBody` → false) and has not resumed.
    var paused = false
    /// How the call ends, once decided: delivered when the queue is empty.
    private(set) var endReport: BackendReport?

    var hasQueued: Bool { !queue.isEmpty }

    mutating func enqueue(_ event: [UInt8]) {
        queue.append(event)
    }

    mutating func dequeue() -> [UInt8]? {
        queue.popFirst()
    }

    mutating func finish(_ report: BackendReport) {
        if endReport == nil { endReport = report }
    }
}
