// SPDX-License-Identifier: Apache-2.0
// One thread that owns stdout. Loops hand it whole batches of log lines (one lock per loop
// iteration, never a write(2) on a loop thread: stdout may be a full pipe or a slow journal).
// The queue is bounded; past it, lines are dropped and counted rather than blocking a loop.
import CLinux
import Glibc
import Synchronization
import TollgateIO

public final class LogWriter: Sendable {
    private struct Queue {
        var pending: [UInt8] = []
        var isClosed = false
    }

    private let queue = Mutex(Queue())
    private let worker = WorkerThread()
    private let outputFD: Int32
    private let capacity: Int
    private let droppedLineCount = Atomic<Int>(0)
    /// Monotonic deadline for the last writes once `close()` was called (0 = open): a stdout
    /// that stays full must not hold the process's exit forever.
    private let closeDeadline = Atomic<UInt64>(0)
    /// How long `close()` lets a full stdout drain before the rest is dropped and counted.
    private let closeGraceNs: UInt64
    private static let wakeThreshold = 256 << 10
    private static let tickMillis: Int32 = 100

    /// - Parameters:
    ///   - outputFD: where lines go (1 = stdout).
    ///   - capacity: most bytes queued before batches are dropped.
    ///   - closeGraceNs: how long `close()` waits for a full output before dropping the rest.
    public init(outputFD: Int32 = 1, capacity: Int = 8 << 20, closeGraceNs: UInt64 = 5_000_000_000) {
        self.closeGraceNs = closeGraceNs
        self.outputFD = outputFD
        self.capacity = capacity
    }

    /// Lines lost: dropped at a full queue or unwritable output (exposed as a metric later).
    public var droppedLines: Int { droppedLineCount.load(ordering: .relaxed) }

    public func start() {
        worker.start { [self] in run() }
    }

    /// Queues bytes (complete lines). Safe from any thread; never blocks on I/O.
    public func submit(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        let shouldWake = queue.withLock { q -> Bool in
            guard !q.isClosed else { return false }
            guard q.pending.count + bytes.count <= capacity else {
                droppedLineCount.add(Self.lineCount(bytes), ordering: .relaxed)
                return false
            }
            let before = q.pending.count
            q.pending.append(contentsOf: bytes)
            // Waking the writer costs a context switch; small batches wait for its 100 ms tick.
            return before < Self.wakeThreshold && q.pending.count >= Self.wakeThreshold
        }
        if shouldWake { worker.wake() }
    }

    /// Queues one line (a newline is added). Safe from any thread.
    public func submitLine(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        bytes.withUnsafeBytes { submit($0) }
    }

    /// Writes what is queued, then stops the thread.
    public func close() {
        closeDeadline.store(tg_monotonic_ns() + closeGraceNs, ordering: .relaxed)
        queue.withLock { $0.isClosed = true }
        worker.wake()
        worker.join()
    }

    private func run() {
        var batch: [UInt8] = []
        while true {
            worker.waitForWake(timeoutMs: Self.tickMillis)
            let closed = queue.withLock { q -> Bool in
                swap(&batch, &q.pending)
                return q.isClosed
            }
            writeAll(batch)
            batch.removeAll(keepingCapacity: batch.capacity <= 1 << 20)
            if closed {
                let rest = queue.withLock { q -> [UInt8] in
                    let r = q.pending
                    q.pending = []
                    return r
                }
                writeAll(rest)
                return
            }
        }
    }

    /// Writes every byte. A full non-blocking output (EAGAIN: a pipe whose reader is behind)
    /// is waited for on this thread, which exists for that; the loops never wait on it, and
    /// the bounded queue drops (and counts) what they cannot hand over meanwhile. Output that
    /// is gone for good (EPIPE, EBADF) counts the lines it loses.
    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(outputFD, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    let error = tg_errno()
                    if error == EINTR { continue }
                    if error == EAGAIN || error == EWOULDBLOCK {
                        let deadline = closeDeadline.load(ordering: .relaxed)
                        if deadline == 0 || tg_monotonic_ns() < deadline {
                            var descriptor = pollfd(fd: outputFD, events: Int16(POLLOUT), revents: 0)
                            _ = poll(&descriptor, 1, Self.tickMillis)
                            continue
                        }
                    }
                    droppedLineCount.add(Self.lineCount(UnsafeRawBufferPointer(rebasing: raw[offset...])), ordering: .relaxed)
                    return
                }
                offset += n
            }
        }
    }

    /// Complete lines in `bytes` (a partly written line counts as lost).
    private static func lineCount(_ bytes: UnsafeRawBufferPointer) -> Int {
        var count = 0
        for byte in bytes where byte == 0x0A { count += 1 }
        return count
    }
}
