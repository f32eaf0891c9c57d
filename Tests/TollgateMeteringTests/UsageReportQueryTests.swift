// SPDX-License-Identifier: Apache-2.0
// `tollgate report`'s reads against a database the real writer (UsageStore) wrote: its figures
// agree with the daily rollups the usage API reads, so the two never tell an operator different
// error counts for the same day.
import Glibc
import Testing
import TollgateCore
@testable import TollgateMetering

struct UsageReportQueryTests {
    @Test func errorsCountWhatTheRollupsCountAClientThatLeftMidStreamIncluded() throws {
        let dir = UsageWriterTests.TemporaryDirectory()
        let ts = 1_759_276_800.5  // 2025-10-01
        let store = try UsageStore(path: dir.database)
        var left = UsageWriterTests.record(ts: ts)  // a 200 whose client went away mid-stream
        left.error = "client_closed"
        let rows = [UsageWriterTests.record(ts: ts), left, UsageWriterTests.record(status: 502, ts: ts, backend: nil)]
        try store.commit(rows[...])
        let rollupErrors = UsageWriterTests.count(dir.database, "SELECT sum(errors) FROM usage_daily")
        #expect(rollupErrors == 2)

        let query = try UsageReportQuery(path: dir.database)
        let period = ReportPeriod(startMs: 1_759_276_800_000, endMs: 1_759_363_200_000)
        let totals = try query.totals(in: period)
        #expect(totals.requests == 3)
        #expect(totals.errors == rollupErrors)
        let byUser = try query.rows(in: period, by: .user)
        #expect(byUser.map(\.errors) == [rollupErrors])
    }
}
