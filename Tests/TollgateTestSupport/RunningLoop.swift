// SPDX-License-Identifier: Apache-2.0
// The one way a unit test gets a real event loop: started on its own thread for the body, stopped
// and joined after it, whatever the body threw.
package import TollgateIO

/// Runs `body` with a started one-loop group's loop; the loop stops and its thread is joined
/// when `body` returns.
package func withRunningLoop<T>(_ body: (EventLoop) throws -> T) throws -> T {
    let group = try EventLoopGroup(count: 1)
    group.start()
    defer {
        group.stop()
        group.join()
    }
    return try body(group.loops[0])
}
