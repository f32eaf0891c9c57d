// SPDX-License-Identifier: Apache-2.0
// `POST /admin/reload` requests waiting for the thread that reloads the config. A reload reads
// the file and builds a plan, which must not run on a loop (it waits on the disk), so a loop
// only queues the exchange's answer here and wakes the signal thread through an eventfd it
// polls next to the signalfd (`ProcessSignals.next(requests:)`): SIGHUP and the POST then run
// the one reload, on the one thread, never two at a time. A reload takes every request queued
// before it began and answers them all — the file it read is at least as new as each request —
// on each request's own loop (`loop.execute`).
import CLinux
import Glibc
import Synchronization
public import TollgateIO

public final class ReloadRequests: Sendable {
    /// Where one request's answer goes: `deliver` is called on `loop` only.
    public struct Waiter: @unchecked Sendable {
        let loop: EventLoop
        let deliver: (ReloadOutcome) -> Void
    }

    private struct Queue {
        var waiters: [Waiter] = []
        var closedReason: String?
    }

    /// Readable while requests wait (eventfd(2): writes add up, one read clears them).
    public let wakeFD: Int32
    private let capacity: Int
    private let queue = Mutex(Queue())

    /// - Parameter capacity: requests waiting at most; past it `submit` refuses (503).
    public init(capacity: Int = 64) {
        self.capacity = max(capacity, 1)
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
    }

    deinit { Glibc.close(wakeFD) }

    public enum Refusal: Error, Sendable, Equatable {
        /// Too many reloads are waiting already.
        case busy
        /// The gateway is draining (or stopped): nothing will reload any more.
        case closed(reason: String)
    }

    /// Queues a request; `deliver` is called later on `loop` with the outcome.
    public func submit(on loop: EventLoop, deliver: @escaping (ReloadOutcome) -> Void) -> Result<Void, Refusal> {
        // No eventfd (EMFILE at start-up): nothing could wake the reloading thread.
        guard wakeFD >= 0 else { return .failure(.closed(reason: "the gateway has no wake-up descriptor for reloads")) }
        let waiter = Waiter(loop: loop, deliver: deliver)
        let refusal = queue.withLock { q -> Refusal? in
            if let reason = q.closedReason { return .closed(reason: reason) }
            guard q.waiters.count < capacity else { return .busy }
            q.waiters.append(waiter)
            return nil
        }
        if let refusal { return .failure(refusal) }
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
        return .success(())
    }

    /// On the reloading thread, as a reload begins: every request queued so far (they get its
    /// outcome), clearing the wake-up.
    public func take() -> [Waiter] {
        var counter: UInt64 = 0
        _ = Glibc.read(wakeFD, &counter, 8)
        return queue.withLock { q in
            defer { q.waiters = [] }
            return q.waiters
        }
    }

    /// Answers `waiters`, each on its own loop.
    public static func answer(_ waiters: [Waiter], with outcome: ReloadOutcome) {
        for waiter in waiters {
            waiter.loop.execute { waiter.deliver(outcome) }
        }
    }

    /// Refuses every later request and answers the waiting ones `unavailable` (draining: the
    /// signal thread stops reloading).
    public func close(reason: String) {
        let waiting = queue.withLock { q -> [Waiter] in
            defer { q.waiters = [] }
            if q.closedReason == nil { q.closedReason = reason }
            return q.waiters
        }
        Self.answer(waiting, with: .unavailable(reason: reason))
    }
}
