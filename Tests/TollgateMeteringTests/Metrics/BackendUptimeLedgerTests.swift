// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateCore
@testable import TollgateMetering

struct BackendUptimeLedgerTests {
    static let hour: Int64 = 3_600_000
    static let month = UTCMonth(year: 2026, month: 11)
    static let t0 = month.startMs

    @Test func aReloadThatChangesNothingAddsNoSegment() {
        let ledger = BackendUptimeLedger()
        let box = (name: "box", perHour: MicroDollars(3_600_000))
        ledger.begin([box], atMs: Self.t0)
        for i in 1...1_000 { ledger.begin([box], atMs: Self.t0 + Int64(i)) }
        #expect(ledger.segmentCount == 1)
        // Two hours at $3.60/h, billed as one stretch.
        let costs = ledger.costs(nowMs: Self.t0 + 2 * Self.hour, month: Self.month)
        #expect(costs.total == ["box": MicroDollars(7_200_000)])
        #expect(costs.month == ["box": MicroDollars(7_200_000)])
    }

    @Test func aNewPriceOrARemovedBackendEndsItsSegment() {
        let ledger = BackendUptimeLedger()
        ledger.begin([(name: "box", perHour: MicroDollars(3_600_000)), (name: "gone", perHour: MicroDollars(1_000_000))],
                     atMs: Self.t0)
        // An hour later: box repriced to $7.20/h, gone removed.
        ledger.begin([(name: "box", perHour: MicroDollars(7_200_000))], atMs: Self.t0 + Self.hour)
        #expect(ledger.segmentCount == 3)
        let costs = ledger.costs(nowMs: Self.t0 + 2 * Self.hour, month: Self.month)
        // box: 1 h at $3.60 + 1 h at $7.20; gone: 1 h at $1.00, then nothing.
        #expect(costs.total == ["box": MicroDollars(10_800_000), "gone": MicroDollars(1_000_000)])
        // Removed, then added back at its old price: a new segment (the gap is not billed).
        ledger.begin([(name: "box", perHour: MicroDollars(7_200_000)), (name: "gone", perHour: MicroDollars(1_000_000))],
                     atMs: Self.t0 + 3 * Self.hour)
        let later = ledger.costs(nowMs: Self.t0 + 4 * Self.hour, month: Self.month)
        #expect(later.total == ["box": MicroDollars(3_600_000 + 3 * 7_200_000), "gone": MicroDollars(2_000_000)])
    }
}
