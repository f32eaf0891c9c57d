// SPDX-License-Identifier: Apache-2.0
// A plain joinable pthread: Foundation's Thread would pull Foundation into the I/O layer, and
// Dispatch threads are pooled (a loop or the log writer must own its thread for its whole life).
import CLinux
import Glibc

public final class PosixThread: @unchecked Sendable {
    // Written once by start() before the thread exists; read by join() on the starting thread.
    private var handle = pthread_t()
    private let body: @Sendable () -> Void

    public init(body: @escaping @Sendable () -> Void) {
        self.body = body
    }

    public func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&handle, nil, { argument in
            let thread = Unmanaged<PosixThread>.fromOpaque(argument!).takeRetainedValue()
            thread.body()
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    public func join() {
        pthread_join(handle, nil)
    }
}
