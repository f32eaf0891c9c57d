// SPDX-License-Identifier: Apache-2.0
// The usage API's reads: periods as whole UTC days, the rollups summed per model for a caller
// and per user and model for an admin, a database that is not there yet, and the bounded
// queue. A real database file in a temporary directory and a real event loop for the answers.
import Glibc
import Synchronization
import Testing
import TollgateCore
import TollgateIO
import TollgateMetering

@Suite(.serialized)
struct UsageReaderTests {
    private final class TemporaryDirectory {
        let path: String
        init() {
            var template = Array("/tmp/tollgate-reader-XXXXXX".utf8CString)
            path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        }
        var db: String { path + "/usage.db" }
        deinit {
            for name in ["usage.db", "usage.db-wal", "usage.db-shm"] { unlink(path + "/" + name) }
            rmdir(path)
        }
    }

    /// 2026-03-15T12:00:00Z.
    private let now: Int64 = 1_773_576_000

    @Test func periodsAreWholeUTCDays() {
        #expect(UsagePeriod.dayText(unixSeconds: now) == "2026-03-15")
        #expect(UsagePeriod.monthStart(unixSeconds: now) == "2026-03-01")
        #expect(UsagePeriod.dayText(unixSeconds: 0) == "1970-01-01")
        #expect(UsagePeriod.day(of: "1h", nowSeconds: now) == .success("2026-03-15"))
        #expect(UsagePeriod.day(of: "13h", nowSeconds: now) == .success("2026-03-14"))
        #expect(UsagePeriod.day(of: "24h", nowSeconds: now) == .success("2026-03-14"))
        #expect(UsagePeriod.day(of: "7d", nowSeconds: now) == .success("2026-03-08"))
        #expect(UsagePeriod.day(of: "30d", nowSeconds: now) == .success("2026-02-13"))
        #expect(UsagePeriod.day(of: "2024-02-29", nowSeconds: now) == .success("2024-02-29"))
        for bad in ["2026-02-29", "2026-13-01", "2026-1-01", "0d", "-1d", "7", "d", "7x", "1.5h", "", "99999999d", "3651d", " 7d"] {
            guard case .failure = UsagePeriod.day(of: bad, nowSeconds: now) else {
                Issue.record("'\(bad)' was accepted")
                continue
            }
        }
    }

    private func fill(_ path: String) throws {
        let db = try SQLiteConnection(path: path)
        try UsageSchema.prepare(db)
        // day, user, model, backend, status, requests, errors, gpu_ms, cost µ$, prompt, completion
        let rows: [(String, String, String, String, Int64, Int64, Int64, Int64, Int64, Int64, Int64)] = [
            ("2026-03-15", "alice", "llama", "box", 200, 3, 0, 1_500, 300, 30, 60),
            ("2026-03-15", "alice", "llama", "box", 502, 1, 1, 100, 19, 0, 0),       // summed over status
            ("2026-03-15", "alice", "llama", "runpod", 200, 2, 0, 2_000, 380, 20, 40),
            ("2026-03-15", "alice", "", "", 400, 1, 1, 0, 0, 0, 0),            // refused before a model
            ("2026-03-02", "alice", "llama", "box", 200, 5, 0, 10_000, 2_000, 50, 100),
            ("2026-03-01", "alice", "embed", "box", 200, 4, 0, 400, 4, 8, 0),
            ("2026-02-28", "alice", "llama", "box", 200, 100, 0, 99_000, 99_000, 0, 0),   // last month
            ("2026-03-15", "bob", "llama", "box", 200, 7, 0, 7_000, 1_400, 70, 70),
            ("2026-03-10", "", "", "", 401, 9, 9, 0, 0, 0, 0),                 // unauthenticated
        ]
        let insert = try db.prepare("""
            INSERT INTO usage_daily (day, user, model, backend, status, requests, errors, gpu_ms, cost_microdollars,
                                     prompt_tokens, completion_tokens) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
            """)
        for r in rows {
            try insert.bind(r.0, at: 1); try insert.bind(r.1, at: 2); try insert.bind(r.2, at: 3); try insert.bind(r.3, at: 4)
            try insert.bind(r.4, at: 5); try insert.bind(r.5, at: 6); try insert.bind(r.6, at: 7); try insert.bind(r.7, at: 8)
            try insert.bind(r.8, at: 9); try insert.bind(r.9, at: 10); try insert.bind(r.10, at: 11)
            try insert.step()
            insert.reset()
        }
    }

    /// Runs `queries` through a started reader; the answers as they came back on the loop.
    private func ask(_ reader: UsageReader, _ queries: [UsageQuery]) throws -> [Result<UsageAnswer, UsageReadError>] {
        let group = try EventLoopGroup(count: 1)
        group.start()
        defer {
            group.stop()
            group.join()
        }
        let loop = group.loops[0]
        let answers = Collector<Result<UsageAnswer, UsageReadError>>()
        for query in queries {
            #expect(reader.submit(query, on: loop) { answer in
                loop.assertInLoop()
                answers.add(answer)
            })
        }
        let deadline = tg_seconds() + 5
        while answers.snapshot.count < queries.count && tg_seconds() < deadline { usleep(2_000) }
        return answers.snapshot
    }

    @Test func aCallerGetsTodayAndThisMonthPerModel() throws {
        let dir = TemporaryDirectory()
        try fill(dir.db)
        let reader = UsageReader(path: dir.db)
        reader.start()
        defer { reader.stop() }
        let answers = try ask(reader, [.caller(user: "alice", today: "2026-03-15", monthStart: "2026-03-01")])
        guard case .success(.caller(let today, let month)) = answers.first else {
            Issue.record("no answer: \(answers)")
            return
        }
        #expect(today == [
            UsageRow(user: "alice", model: nil, figures: UsageFigures(requests: 1, errors: 1, gpu: .zero, cost: .zero,
                                                                      promptTokens: 0, completionTokens: 0)),
            UsageRow(user: "alice", model: "llama", figures: UsageFigures(requests: 6, errors: 1, gpu: MilliGPUSeconds(3_600),
                                                                          cost: MicroDollars(699), promptTokens: 50, completionTokens: 100)),
        ])
        #expect(month.map(\.model) == [nil, "embed", "llama"])
        #expect(month.last?.figures == UsageFigures(requests: 11, errors: 1, gpu: MilliGPUSeconds(13_600), cost: MicroDollars(2_699),
                                                    promptTokens: 100, completionTokens: 200))
    }

    @Test func anAdminGetsEveryUserOrOne() throws {
        let dir = TemporaryDirectory()
        try fill(dir.db)
        let reader = UsageReader(path: dir.db)
        reader.start()
        defer { reader.stop() }
        let answers = try ask(reader, [.report(user: nil, fromDay: "2026-03-01", toDay: "2026-03-15"),
                                       .report(user: "bob", fromDay: "2026-03-01", toDay: "2026-03-15"),
                                       .report(user: nil, fromDay: "2026-02-28", toDay: "2026-02-28")])
        #expect(answers.count == 3)
        guard case .success(.report(let all)) = answers.first else { return }
        #expect(all.map { "\($0.user ?? "-")/\($0.model ?? "-")" } == ["-/-", "alice/-", "alice/embed", "alice/llama", "bob/llama"])
        #expect(all.first?.figures.requests == 9)
        #expect(all.reduce(Int64(0)) { $0 + $1.figures.requests } == 32)
        guard case .success(.report(let bob)) = answers[1], case .success(.report(let february)) = answers[2] else { return }
        #expect(bob.map(\.user) == ["bob"] && bob.first?.figures.cost == MicroDollars(1_400))
        #expect(february.map(\.figures.requests) == [100])
    }

    /// The writer creates the file; a query before that is an error, and the next one after it
    /// reads (the reader opens its connection again).
    @Test func aDatabaseNotThereYetIsAnErrorUntilItIs() throws {
        let dir = TemporaryDirectory()
        let reader = UsageReader(path: dir.db)
        reader.start()
        defer { reader.stop() }
        let query = UsageQuery.report(user: nil, fromDay: "2026-03-01", toDay: "2026-03-31")
        let before = try ask(reader, [query])
        guard case .failure(.unavailable) = before.first else {
            Issue.record("expected unavailable: \(before)")
            return
        }
        try fill(dir.db)
        let after = try ask(reader, [query])
        guard case .success(.report(let rows)) = after.first else {
            Issue.record("expected rows: \(after)")
            return
        }
        #expect(rows.count == 5)
    }

    /// Past its capacity the queue refuses at once (the API answers 503) instead of growing.
    @Test func aFullQueueRefuses() throws {
        let dir = TemporaryDirectory()
        try fill(dir.db)
        let reader = UsageReader(path: dir.db, capacity: 2)
        let group = try EventLoopGroup(count: 1)
        group.start()
        defer {
            group.stop()
            group.join()
        }
        let loop = group.loops[0]
        let delivered = Collector<Int>()
        let query = UsageQuery.caller(user: "bob", today: "2026-03-15", monthStart: "2026-03-01")
        // Not started yet: nothing drains the queue.
        let taken = (0..<3).map { _ in reader.submit(query, on: loop) { _ in delivered.add(1) } }
        #expect(taken == [true, true, false])
        reader.start()
        let deadline = tg_seconds() + 5
        while delivered.snapshot.count < 2 && tg_seconds() < deadline { usleep(2_000) }
        #expect(delivered.snapshot.count == 2)
        reader.stop()
        #expect(!reader.submit(query, on: loop) { _ in })
    }
}

/// Collects what the loop thread hands over, for the test thread.
private final class Collector<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])
    func add(_ item: T) { items.withLock { $0.append(item) } }
    var snapshot: [T] { items.withLock { $0 } }
}

private func tg_seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
