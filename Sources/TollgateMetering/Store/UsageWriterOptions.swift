// SPDX-License-Identifier: Apache-2.0
// The usage writer's bounds and rhythm. The defaults keep a batch to ≤ 50 ms or 4,096 rows
// (issue 9), the queue to about 10 MiB of records at worst, and a pruning step short enough
// that a loop's hand-over never waits on it (the loops never wait on the writer at all).

public struct UsageWriterOptions: Sendable {
    /// Rows queued that wake the writer at once; fewer wait for its `batchIntervalMs` tick.
    /// Large, so that under load the 50 ms tick sets the rhythm: a commit rewrites the last,
    /// partly filled page of every b-tree it touched, and each wake is a context switch on a
    /// machine the loops need (measured: 512 → 4,096 cut the gateway's CPU per request ~8 %).
    public var batchRows = 4096
    /// The longest a queued row waits before its batch is committed.
    public var batchIntervalMs: Int32 = 50
    /// The most rows one transaction writes (a larger backlog is several transactions).
    public var maxTransactionRows = 4096
    /// Records queued at most; beyond it records are dropped and counted (fail closed).
    public var queueCapacity = 32_768
    /// Rows of failed batches kept for the next try at most; the queue backs up behind them.
    public var retainedCapacity = 32_768
    /// `storage.retention_days`: per-request rows older than this are pruned (0 keeps them).
    public var retentionDays = 90
    /// Rows one pruning step deletes at most.
    public var pruneStepRows = 500
    /// How often the writer looks for rows past retention once none are left.
    public var pruneCheckSeconds: Double = 60
    /// How often `backend_uptime.last_seen` advances (the contract: at least every 10 s).
    public var uptimeIntervalSeconds: Double = 10
    /// The pause before a failed batch is tried again.
    public var retryIntervalMs: Int32 = 250
    /// How long `close()` keeps retrying a failing database before the rest is dropped.
    public var closeGraceNs: UInt64 = 5_000_000_000

    public init() {}

    /// Past this many queued records, rows with no user are dropped first (SPEC §4).
    var anonymousMark: Int { queueCapacity - queueCapacity / 4 }
}
