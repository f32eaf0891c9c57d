// SPDX-License-Identifier: Apache-2.0
// An HTTPServer with TestResponder on 127.0.0.1, port 0, and the counters its responder keeps
// for the test (shared across threads through a Mutex).
import Synchronization
package import TollgateHTTP
package import TollgateIO

/// Boots an HTTPServer with TestResponder on 127.0.0.1:0; `stop` drains it and ends its loops.
package final class TestServer: Sendable {
    package let group: EventLoopGroup
    package let server: HTTPServer
    package let counters = TestCounters()
    package let port: UInt16

    package init(workers: Int = 1, configure: (inout HTTPServerOptions) -> Void = { _ in }) throws {
        var options = HTTPServerOptions()
        options.port = 0
        options.workers = workers
        configure(&options)
        group = try EventLoopGroup(count: workers)
        let counters = self.counters
        server = try HTTPServer(group: group, options: options) { loop in
            TestResponder(loop: loop, counters: counters)
        }
        group.start()
        port = try server.start().port
    }

    package func stop() {
        server.drain(timeout: 2_000_000_000)
        group.stop()
        group.join()
    }
}

package final class TestCounters: Sendable {
    package struct Values {
        /// Requests whose head reached the responder.
        package var started = 0
        package var aborted = 0
        package var ended = 0
        package var rejected: [Int] = []
        package var blockedWrites = 0
        package var maxQueued = 0
        package var streamedBytes = 0
        /// Bytes a Streamer has handed to `write` so far.
        package var producedBytes = 0
        package var bodyBytes = 0
        /// /late answers attempted, and those whose exchange had lost its client yet still
        /// reached a connection (must stay 0).
        package var lateReplies = 0
        package var lateRepliesReachingAConnection = 0
    }
    private let values = Mutex(Values())
    func update(_ body: (inout Values) -> Void) { values.withLock { body(&$0) } }
    package var snapshot: Values { values.withLock { $0 } }
}
