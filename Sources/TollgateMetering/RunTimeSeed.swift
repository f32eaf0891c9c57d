// SPDX-License-Identifier: Apache-2.0
// The router's expected run per (backend, model) starts from the usage log (SPEC §4, issue 12):
// a restart should not forget what a backend's runs cost and fall back to the configured
// `expected_run`. Read once, before the gateway listens, on a connection of its own, like the
// quota ledgers' rebuild (QuotaSpendLog): a missing file is a first start (no seeds); a file
// that cannot be read throws, and the caller decides.
import Glibc

public struct RunTimeSeed: Sendable, Equatable {
    /// The mean run of one (backend, model) pair over its recent successful requests.
    public struct Row: Sendable, Equatable {
        public var backend: String
        public var model: String
        /// Mean GPU time of the counted rows, whole milliseconds (rounded half up).
        public var meanMs: Int64
        /// How many rows the mean is over (1...perPair).
        public var count: Int

        public init(backend: String, model: String, meanMs: Int64, count: Int) {
            self.backend = backend
            self.model = model
            self.meanMs = meanMs
            self.count = count
        }
    }

    /// One row per pair that had at least one counted request, sorted by backend, then model.
    public let rows: [Row]

    public init(rows: [Row]) {
        self.rows = rows
    }

    public static let empty = RunTimeSeed(rows: [])

    /// Seven days: old enough to have data after a quiet weekend, recent enough that a backend
    /// whose hardware changed is not judged by last month's runs.
    public static let defaultWindowSeconds: Double = 7 * 86_400
    public static let defaultPerPair = 50

    /// The row of `backend` and `model`, if the log had any.
    public func row(backend: String, model: String) -> Row? {
        rows.first { $0.backend == backend && $0.model == model }
    }

    /// The means in the database at `path`: per (backend, model), the latest `perPair` requests
    /// that started within `windowSeconds` before `nowUnix` (unix seconds), reached a backend
    /// and were answered 2xx (a failed attempt's time says nothing about a run). Their GPU time
    /// is the usage log's exact integer `gpu_ms` (= gpu_seconds × 1000).
    public static func load(path: String, nowUnix: Double, windowSeconds: Double = defaultWindowSeconds,
                            perPair: Int = defaultPerPair) throws(SQLiteError) -> RunTimeSeed {
        guard access(path, F_OK) == 0 else { return .empty }
        guard perPair > 0, nowUnix.isFinite, windowSeconds.isFinite else { return .empty }
        let db = try SQLiteConnection(path: path, create: false)
        // Newest first through the `ts` index (no sort); each pair keeps its first `perPair`
        // rows, so memory is bounded by the number of pairs, not of rows.
        let statement = try db.prepare("""
            SELECT backend, model, gpu_ms FROM requests
            WHERE ts >= ?1 AND status BETWEEN 200 AND 299
              AND backend IS NOT NULL AND backend != '' AND model IS NOT NULL AND model != ''
            ORDER BY ts DESC
            """)
        try statement.bind(nowUnix - max(0, windowSeconds), at: 1)
        var sums: [Pair: (total: Int64, count: Int)] = [:]
        while try statement.step() {
            let pair = Pair(backend: statement.text(at: 0) ?? "", model: statement.text(at: 1) ?? "")
            var sum = sums[pair] ?? (0, 0)
            guard sum.count < perPair else { continue }
            sum.total = Self.add(sum.total, max(0, statement.int64(at: 2)))
            sum.count += 1
            sums[pair] = sum
        }
        let rows = sums.map { pair, sum in
            Row(backend: pair.backend, model: pair.model, meanMs: Self.mean(sum.total, sum.count), count: sum.count)
        }
        return RunTimeSeed(rows: rows.sorted { ($0.backend, $0.model) < ($1.backend, $1.model) })
    }

    private struct Pair: Hashable {
        var backend: String
        var model: String
    }

    /// `total / count` rounded half up; `count` is at least 1 and `total` non-negative, so
    /// neither the division nor the rounding can trap.
    static func mean(_ total: Int64, _ count: Int) -> Int64 {
        let n = Int64(max(count, 1))
        let (quotient, remainder) = total.quotientAndRemainder(dividingBy: n)
        return remainder >= n - remainder ? quotient + 1 : quotient
    }

    private static func add(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }
}
