// SPDX-License-Identifier: Apache-2.0
// Reads the usage log for the usage API (`GET /v1/usage`, `GET /admin/usage`) on a thread of its
// own with a read-only connection of its own: never the writer's connection, and never a loop
// thread (a query waits on the disk, and under WAL a reader never blocks the writer —
// https://sqlite.org/wal.html §2.2). Loops hand it queries through a bounded queue, and the
// answer goes back to the asking loop with `loop.execute`; a full queue is refused at once so
// the caller can answer 503 instead of letting requests pile up behind a slow disk.
//
// It reads the daily rollups (`usage_daily`, updated in the same transaction as the rows they
// sum and never pruned), summing over their `status` split.
import CLinux
import Glibc
import Synchronization
public import TollgateIO
import TollgateCore

public final class UsageReader: Sendable {
    /// A query and where its answer goes: called on `loop` only.
    private struct Job: @unchecked Sendable {
        let query: UsageQuery
        let loop: EventLoop
        let deliver: (Result<UsageAnswer, UsageReadError>) -> Void
    }

    private struct Queue {
        var jobs: [Job] = []
        var isClosed = false
    }

    private let path: String
    private let capacity: Int
    private let queue = Mutex(Queue())
    private let worker = WorkerThread()

    /// - Parameters:
    ///   - path: the usage database (`storage.sqlite`); opened read-only on first use, so the
    ///     writer creates and migrates it first.
    ///   - capacity: queries waiting at most; past it `submit` refuses.
    public init(path: String, capacity: Int = 64) {
        self.path = path
        self.capacity = max(capacity, 1)
    }

    public func start() {
        worker.start { [self] in run() }
    }

    /// Stops taking queries, answers none of those still queued (their loops are stopping),
    /// and joins the thread.
    public func stop() {
        let wasOpen = queue.withLock { q -> Bool in
            defer { q.isClosed = true; q.jobs = [] }
            return !q.isClosed
        }
        guard wasOpen else { return }
        worker.wake()
        worker.join()
    }

    /// Queues `query`; `deliver` is called on `loop` with the answer. Returns false (and never
    /// calls `deliver`) when the queue is full or the reader stopped.
    public func submit(_ query: UsageQuery, on loop: EventLoop,
                       deliver: @escaping (Result<UsageAnswer, UsageReadError>) -> Void) -> Bool {
        let job = Job(query: query, loop: loop, deliver: deliver)
        let taken = queue.withLock { q -> Bool in
            guard !q.isClosed, q.jobs.count < capacity else { return false }
            q.jobs.append(job)
            return true
        }
        if taken { worker.wake() }
        return taken
    }

    private func run() {
        var store: Statements?
        while true {
            worker.waitForWake(timeoutMs: -1)  // until a query or the stop
            while true {
                let next = queue.withLock { q -> (Job?, Bool) in
                    q.isClosed ? (nil, true) : (q.jobs.isEmpty ? nil : q.jobs.removeFirst(), false)
                }
                if next.1 { return }
                guard let job = next.0 else { break }
                let answer = answer(job.query, store: &store)
                let delivery = Delivery(job: job, answer: answer)
                job.loop.execute { delivery.deliver() }
            }
        }
    }

    /// Carries an answer to the asking loop.
    private final class Delivery: @unchecked Sendable {
        let job: Job
        let answer: Result<UsageAnswer, UsageReadError>
        init(job: Job, answer: Result<UsageAnswer, UsageReadError>) {
            self.job = job
            self.answer = answer
        }
        func deliver() { job.deliver(answer) }
    }

    /// Runs one query; a failure drops the connection so the next query opens it afresh (the
    /// file may have been created, replaced or repaired meanwhile).
    private func answer(_ query: UsageQuery, store: inout Statements?) -> Result<UsageAnswer, UsageReadError> {
        do throws(SQLiteError) {
            if store == nil { store = try Statements(path: path) }
            guard let statements = store else { return .failure(.unavailable("no connection")) }
            switch query {
            case .caller(let user, let today, let monthStart):
                let month = try statements.rows(user: user, from: monthStart, to: today)
                let day = try statements.rows(user: user, from: today, to: today)
                return .success(.caller(today: day, month: month))
            case .report(let user, let from, let to):
                return .success(.report(try statements.rows(user: user, from: from, to: to)))
            }
        } catch {
            store = nil
            return .failure(.unavailable(error.message))
        }
    }

    /// The reader's connection and its prepared statements.
    private final class Statements {
        let db: SQLiteConnection
        let perUserAndModel: SQLiteStatement

        static let sums = """
            SUM(requests), SUM(errors), SUM(gpu_ms), SUM(cost_microdollars), SUM(prompt_tokens), SUM(completion_tokens)
            """

        init(path: String) throws(SQLiteError) {
            db = try SQLiteConnection(path: path, readOnly: true, create: false)
            // Days are `YYYY-MM-DD` text, so a range of days is a range of strings (the
            // primary key's first column: an index range scan).
            perUserAndModel = try db.prepare("""
                SELECT user, model, \(Self.sums) FROM usage_daily
                WHERE day >= ?2 AND day <= ?3 AND (?1 IS NULL OR user = ?1) GROUP BY user, model ORDER BY user, model
                """)
        }

        /// The rollups of days `from`...`to` per user and model, of `user` only when given (a
        /// caller's rows then differ by model alone).
        func rows(user: String?, from: String, to: String) throws(SQLiteError) -> [UsageRow] {
            let s = perUserAndModel
            defer { s.reset() }
            try s.bind(user, at: 1)
            try s.bind(from, at: 2)
            try s.bind(to, at: 3)
            var rows: [UsageRow] = []
            while try s.step() {
                rows.append(UsageRow(user: Self.name(s.text(at: 0)), model: Self.name(s.text(at: 1)), figures: Self.figures(s, from: 2)))
            }
            return rows
        }

        /// The rollups store a missing user or model as '' (a key column cannot be NULL).
        static func name(_ text: String?) -> String? {
            guard let text, !text.isEmpty else { return nil }
            return text
        }

        static func figures(_ s: SQLiteStatement, from column: Int32) -> UsageFigures {
            UsageFigures(requests: s.int64(at: column), errors: s.int64(at: column + 1),
                         gpu: MilliGPUSeconds(s.int64(at: column + 2)), cost: MicroDollars(s.int64(at: column + 3)),
                         promptTokens: s.int64(at: column + 4), completionTokens: s.int64(at: column + 5))
        }
    }
}
