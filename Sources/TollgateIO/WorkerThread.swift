// SPDX-License-Identifier: Apache-2.0
// A thread of its own for work that must never run on a loop — writing stdout, committing the
// usage log, reading it — that sleeps until another thread wakes it or a tick passes. The wake
// is an eventfd (one write wakes however many were made meanwhile: eventfd(2) adds them up), so
// a waker never blocks and never allocates.
import CLinux
import Glibc
import Synchronization

public final class WorkerThread: Sendable {
    private let wakeFD: Int32
    private let thread = Mutex<PosixThread?>(nil)

    public init() {
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
    }

    deinit {
        Glibc.close(wakeFD)
    }

    /// Runs `body` on the new thread; `body` returns when the owner has told it to stop.
    public func start(_ body: @escaping @Sendable () -> Void) {
        let handle = PosixThread(body: body)
        thread.withLock { $0 = handle }
        handle.start()
    }

    /// Wakes the thread from `waitForWake` (from any thread; never blocks).
    public func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    /// On the worker: sleeps until woken or `timeoutMs` has passed (-1: until woken), and
    /// consumes the wake-ups so far.
    public func waitForWake(timeoutMs: Int32) {
        var descriptor = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, timeoutMs) > 0 {
            var counter: UInt64 = 0
            _ = Glibc.read(wakeFD, &counter, 8)
        }
    }

    /// Waits for the thread to end (after the owner told it to stop and woke it). Once: a
    /// second call returns at once (joining a pthread twice is undefined behaviour).
    public func join() {
        let handle = thread.withLock { slot -> PosixThread? in
            defer { slot = nil }
            return slot
        }
        handle?.join()
    }
}
