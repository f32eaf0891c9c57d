// SPDX-License-Identifier: Apache-2.0
// The usage log's one writer thread (ARCHITECTURE: SQLite is never called on a loop thread).
// Loops hand their records over once per iteration into a bounded queue; the thread commits a
// batch per transaction every ≤ 50 ms or 4,096 rows, prunes old rows in small steps between
// batches, and keeps the always-on backends' uptime segments current.
//
// Fail closed (SPEC §4): a full queue or a failing database (SQLITE_FULL, an I/O error, a
// read-only file) makes `isHealthy` false — /readyz answers 503 and users with a quota are
// refused — until the writer has caught up again by itself. A failed batch is kept and tried
// again (bounded); what exceeds the bounds is dropped and counted. Near a full queue, rows
// with no user go first: a flood of unauthenticated requests must not fail the gateway closed.
import CLinux
import Glibc
import Synchronization
public import TollgateCore
import TollgateIO

public final class UsageWriter: Sendable {
    private struct UptimeCommand: Sendable {
        var backends: [(name: String, perHour: MicroDollars)]
        var at: Double
    }

    private struct Queue {
        var records: [UsageRecord] = []
        var uptime: [UptimeCommand] = []
        var isClosed = false
    }

    /// The store, touched by the writer thread only once `start()` ran (by `init` before).
    private final class StoreSlot: @unchecked Sendable {
        var store: UsageStore?
        init(_ store: UsageStore) { self.store = store }
    }

    private let queue = Mutex(Queue())
    private let slot: StoreSlot
    private let options: UsageWriterOptions
    private let worker = WorkerThread()
    private let droppedCount = Atomic<Int>(0)
    private let committedCount = Atomic<Int>(0)
    /// A user's row could not be queued; cleared once the writer has caught up.
    private let queueOverflowed = Atomic<Bool>(false)
    /// The last commit failed; cleared by the next that succeeds.
    private let commitFailing = Atomic<Bool>(false)
    private let reason = Mutex<String?>(nil)
    /// What this writer has committed, summed as the rollups sum it: the counters of
    /// /metrics that sum the usage log are the seeds plus these (SPEC §6).
    public let committed = CommittedUsage()
    private let runID: String

    /// Opens (creating if needed) the usage database at `path` and migrates it. The thread
    /// starts with `start()`.
    public init(path: String, options: UsageWriterOptions = UsageWriterOptions()) throws(SQLiteError) {
        slot = StoreSlot(try UsageStore(path: path))
        self.options = options
        // Unique per process start: the wall clock in nanoseconds and the process id.
        runID = String(tg_realtime_ns(), radix: 16) + "-" + String(getpid())
    }

    // MARK: - Health (SPEC §4)

    /// False while a user's row cannot be queued or the database refuses writes.
    public var isHealthy: Bool {
        !commitFailing.load(ordering: .acquiring) && !queueOverflowed.load(ordering: .acquiring)
    }

    /// Rows lost: dropped at a full queue, beyond the retry bound, or refused by the database
    /// (`tollgate_usage_dropped_total`).
    public var droppedRows: Int { droppedCount.load(ordering: .relaxed) }

    /// Rows written so far by this writer.
    public var committedRows: Int { committedCount.load(ordering: .relaxed) }

    /// Why the writer is not healthy (SQLite's message, or the full queue), nil when it is.
    public var failureReason: String? { reason.withLock { $0 } }

    // MARK: - Running

    public func start() {
        worker.start { [self] in run() }
    }

    /// Queues a loop's records and empties `records` (its capacity kept). Never blocks on I/O.
    public func submit(_ records: inout [UsageRecord]) {
        guard !records.isEmpty else { return }
        let capacity = options.queueCapacity
        let mark = options.anonymousMark
        let batchRows = options.batchRows
        var dropped = 0
        var lostUserRow = false
        let shouldWake = queue.withLock { q -> Bool in
            let before = q.records.count
            if q.isClosed {
                dropped = records.count
                lostUserRow = records.contains { $0.user != nil }
                return false
            }
            if before + records.count <= mark {
                // The common case: the whole batch fits, and into an empty queue it is a swap.
                if before == 0 { swap(&q.records, &records) } else { q.records.append(contentsOf: records) }
            } else {
                for record in records {
                    let count = q.records.count
                    if count >= capacity {
                        dropped += 1
                        if record.user != nil { lostUserRow = true }
                    } else if count >= mark && record.user == nil {
                        dropped += 1
                    } else {
                        q.records.append(record)
                    }
                }
            }
            // Waking the writer costs a context switch; smaller batches wait for its tick.
            return before < batchRows && q.records.count >= batchRows
        }
        records.removeAll(keepingCapacity: true)
        if dropped > 0 { droppedCount.add(dropped, ordering: .relaxed) }
        if lostUserRow && !queueOverflowed.exchange(true, ordering: .acquiringAndReleasing) {
            reason.withLock { $0 = "the usage queue is full (\(capacity) rows): rows are being dropped" }
        }
        if shouldWake { worker.wake() }
    }

    /// Starts a new uptime segment for each always-on backend at `at` (unix seconds), ending
    /// the previous call's segments there (the gateway calls it at start and on reload).
    public func beginUptime(backends: [(name: String, perHour: MicroDollars)], at: Double) {
        queue.withLock { $0.uptime.append(UptimeCommand(backends: backends, at: at)) }
        worker.wake()
    }

    /// Commits what is queued (retrying a failing database for up to `closeGraceNs`), ends the
    /// uptime segments, and stops the thread. Call after the loops stopped submitting.
    public func close() {
        queue.withLock { $0.isClosed = true }
        worker.wake()
        worker.join()
    }

    // MARK: - The writer thread

    /// What the thread carries from one round to the next.
    private struct Round {
        /// Records taken from the queue and not yet committed (a failed batch among them).
        var pending: [UsageRecord] = []
        var uptime: [UptimeCommand] = []
        /// The id of the current uptime segments, nil before the first `beginUptime`.
        var segmentRun: String?
        var segmentGeneration = 0
        var nextUptimeNs: UInt64 = 0
        var nextPruneNs: UInt64 = 0
        /// The last pruning step found a full step of old rows: more are waiting.
        var pruneBacklog = false
        var failing = false
    }

    private func run() {
        guard let store = slot.store else { return }
        var round = Round()
        while true {
            let timeout = round.failing ? options.retryIntervalMs : (round.pruneBacklog ? 1 : options.batchIntervalMs)
            worker.waitForWake(timeoutMs: timeout)
            let closed = take(into: &round, all: false)
            if closed {
                finish(store, &round)
                slot.store = nil
                return
            }
            if write(store, &round) { maintain(store, &round) }
        }
    }

    /// Moves queued records into `round.pending` (up to the retry bound unless `all`).
    /// - Returns: whether the writer was closed.
    private func take(into round: inout Round, all: Bool) -> Bool {
        let room = all ? Int.max : max(0, options.retainedCapacity - round.pending.count)
        return queue.withLock { q -> Bool in
            if !q.uptime.isEmpty {
                round.uptime += q.uptime
                q.uptime.removeAll()
            }
            let n = min(room, q.records.count)
            if n == q.records.count && round.pending.isEmpty {
                swap(&round.pending, &q.records)
            } else if n > 0 {
                round.pending.append(contentsOf: q.records[..<n])
                q.records.removeFirst(n)
            }
            return q.isClosed
        }
    }

    /// Writes the pending uptime changes and records.
    /// - Returns: true when everything was written.
    private func write(_ store: UsageStore, _ round: inout Round) -> Bool {
        do {
            while let command = round.uptime.first {
                round.segmentGeneration += 1
                let run = "\(runID)-\(round.segmentGeneration)"
                try store.beginSegments(run: run, closing: round.segmentRun, backends: command.backends, at: command.at)
                round.segmentRun = run
                round.uptime.removeFirst()
                round.nextUptimeNs = tg_monotonic_ns() + Self.nanoseconds(options.uptimeIntervalSeconds)
            }
            while !round.pending.isEmpty {
                let n = min(round.pending.count, options.maxTransactionRows)
                do {
                    committed.add(try store.commit(round.pending[..<n]))
                    committedCount.add(n, ordering: .relaxed)
                } catch where Self.isRowError(error) {
                    // A row the database refuses whatever the disk (a duplicate id): written one
                    // by one, so one bad row cannot hold the others back forever.
                    try commitOneByOne(store, round.pending[..<n])
                }
                if n == round.pending.count {
                    round.pending.removeAll(keepingCapacity: round.pending.capacity <= 4 * options.maxTransactionRows)
                } else {
                    round.pending.removeFirst(n)
                }
            }
            recovered(&round)
            return true
        } catch {
            failed(error, &round)
            return false
        }
    }

    private func commitOneByOne(_ store: UsageStore, _ rows: ArraySlice<UsageRecord>) throws(SQLiteError) {
        for index in rows.indices {
            do {
                committed.add(try store.commit(rows[index...index]))
                committedCount.add(1, ordering: .relaxed)
            } catch where Self.isRowError(error) {
                droppedCount.add(1, ordering: .relaxed)
            }
        }
    }

    /// Advances the uptime segments and takes one pruning step when due.
    private func maintain(_ store: UsageStore, _ round: inout Round) {
        let now = tg_monotonic_ns()
        do {
            if let run = round.segmentRun, now >= round.nextUptimeNs {
                try store.advanceSegments(run: run, at: Self.wallClock())
                round.nextUptimeNs = now + Self.nanoseconds(options.uptimeIntervalSeconds)
            }
            if options.retentionDays > 0 && (round.pruneBacklog || now >= round.nextPruneNs) {
                let cutoff = Self.wallClock() - Double(options.retentionDays) * 86_400
                let deleted = try store.prune(before: cutoff, limit: options.pruneStepRows)
                round.pruneBacklog = deleted >= options.pruneStepRows
                if !round.pruneBacklog { round.nextPruneNs = now + Self.nanoseconds(options.pruneCheckSeconds) }
            }
        } catch {
            failed(error, &round)
        }
    }

    /// The close: everything queued is written, retried until the grace ends, then counted.
    private func finish(_ store: UsageStore, _ round: inout Round) {
        let deadline = tg_monotonic_ns() + options.closeGraceNs
        _ = take(into: &round, all: true)
        while !write(store, &round) && tg_monotonic_ns() < deadline {
            worker.waitForWake(timeoutMs: options.retryIntervalMs)
        }
        if !round.pending.isEmpty {
            droppedCount.add(round.pending.count, ordering: .relaxed)
            round.pending.removeAll()
        }
        if let run = round.segmentRun { try? store.advanceSegments(run: run, at: Self.wallClock()) }
    }

    private func failed(_ error: SQLiteError, _ round: inout Round) {
        reason.withLock { $0 = "the usage database refuses writes: \(error)" }
        if !commitFailing.exchange(true, ordering: .acquiringAndReleasing) {
            Self.report("tollgate: usage log: \(error); failing closed (users with a quota get 503) until it recovers")
        }
        round.failing = true
    }

    private func recovered(_ round: inout Round) {
        round.failing = false
        let wasFailing = commitFailing.load(ordering: .acquiring)
        let overflowed = queueOverflowed.load(ordering: .acquiring)
        guard wasFailing || overflowed else { return }
        if wasFailing {
            commitFailing.store(false, ordering: .releasing)
            Self.report("tollgate: usage log: writing again")
        }
        // The queue has room again once the writer took it below the mark.
        let stillFull = overflowed && queue.withLock { $0.records.count } >= options.anonymousMark
        if overflowed && !stillFull { queueOverflowed.store(false, ordering: .releasing) }
        reason.withLock { $0 = stillFull ? "the usage queue is full (\(options.queueCapacity) rows): rows are being dropped" : nil }
    }

    /// Errors that belong to a row rather than to the database or its disk.
    private static func isRowError(_ error: SQLiteError) -> Bool {
        // SQLITE_TOOBIG, SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_RANGE.
        [18, 19, 20, 25].contains(error.primaryCode)
    }

    private static func nanoseconds(_ seconds: Double) -> UInt64 {
        seconds > 0 && seconds < 1e9 ? UInt64(seconds * 1e9) : 0
    }

    private static func wallClock() -> Double { Double(tg_realtime_ns()) / 1e9 }

    /// One line on stderr at each change of health (the writer's own thread, never a loop's).
    private static func report(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(2, base + offset, bytes.count - offset)
                if n < 0 && tg_errno() == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
