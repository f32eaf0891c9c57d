// SPDX-License-Identifier: Apache-2.0
// The quota ledger's balances read back from the usage log at start-up (SPEC §1: `serve`
// listens only once the quota ledgers are rebuilt; SPEC §4: restarts never refresh a quota).
import TollgateLimits
public import TollgateMetering

extension Gateway {
    /// Sets every balance's spend in its current period from the usage log at `path`; called
    /// before `start()`, so no request is admitted against an empty ledger.
    public func rebuildQuotas(usageLog path: String) throws(SQLiteError) {
        let day = quota.currentPeriod(.day)
        let month = quota.currentPeriod(.month)
        let log = try QuotaSpendLog.read(path: path, dayStart: day.start, monthStart: month.start)
        var spent: [QuotaAccount: Int64] = [.gateway: log.spendTotal]
        for (user, gpu) in log.gpuByUser { spent[.userGPU(user)] = gpu }
        for (user, cost) in log.spendByUser { spent[.userSpend(user)] = cost }
        for (backend, cost) in log.spendByBackend { spent[.backend(backend)] = cost }
        quota.restore(spent: spent)
    }

    /// Starts each (backend, model) expected run from the usage log's recent mean (SPEC §4:
    /// "a moving average per (backend, model) that starts at `expected_run`" and is seeded).
    public func seedExpectedRuns(_ seed: RunTimeSeed) {
        for row in seed.rows {
            plan.board.seed(backend: row.backend, model: row.model, meanMs: row.meanMs, count: row.count)
        }
    }
}
