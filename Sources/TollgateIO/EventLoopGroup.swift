// SPDX-License-Identifier: Apache-2.0
// N loops, one thread each. The group starts and joins them; connections stay on the loop
// whose listener accepted them.
import Glibc

public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    private let threads: [PosixThread]

    /// Creates `count` loops (not yet running).
    public init(count: Int) throws(IOError) {
        precondition(count >= 1)
        var loops: [EventLoop] = []
        for i in 0..<count { loops.append(try EventLoop(index: i)) }
        self.loops = loops
        self.threads = loops.map { loop in PosixThread { loop.run() } }
    }

    /// Starts one thread per loop.
    public func start() {
        for thread in threads { thread.start() }
    }

    /// Asks every loop to stop after its current iteration.
    public func stop() {
        for loop in loops { loop.stop() }
    }

    /// Waits for every loop thread to return.
    public func join() {
        for thread in threads { thread.join() }
    }

    /// The number of online CPUs, the default loop count.
    public static var coreCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
