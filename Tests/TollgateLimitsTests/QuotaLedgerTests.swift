// SPDX-License-Identifier: Apache-2.0
import Glibc
import Synchronization
import Testing
import TollgateLimits

@Suite struct QuotaLedgerTests {
    /// A settable clock (unix seconds).
    final class Clock: Sendable {
        let now: Atomic<Int64>
        init(_ start: Int64) { now = Atomic(start) }
        func read() -> Int64 { now.load(ordering: .relaxed) }
        func set(_ value: Int64) { now.store(value, ordering: .relaxed) }
    }

    static let noon: Int64 = 1_795_953_600  // 2026-11-29T12:00:00Z

    static func ledger(_ caps: [QuotaAccount: Int64], clock: Clock = Clock(noon)) -> QuotaLedger {
        QuotaLedger(caps: caps, clock: { clock.read() })
    }

    @Test func leaseNeverTakesMoreThanRemains() throws {
        let ledger = Self.ledger([.userSpend("a"): 100])
        let first = try ledger.lease([QuotaCharge(.userSpend("a"), 60)])
        #expect(ledger.remaining(.userSpend("a")) == 40)
        #expect(throws: QuotaRefusal.self) { _ = try ledger.lease([QuotaCharge(.userSpend("a"), 41)]) }
        let second = try ledger.lease([QuotaCharge(.userSpend("a"), 40)])
        #expect(ledger.remaining(.userSpend("a")) == 0)
        first.void()
        second.void()
        #expect(ledger.remaining(.userSpend("a")) == 100)
    }

    /// A backend's saturated report (spent = Int64.max) with open leases above a cap a reload
    /// lowered: cap - spent - reserved must not wrap around into a huge "remaining" that hands
    /// the account an unlimited quota.
    @Test func remainingNeverWrapsIntoAHugeBalance() throws {
        let ledger = Self.ledger([.userGPU("a"): 3_000])
        let open = try ledger.lease([QuotaCharge(.userGPU("a"), 1_000)])
        let big = try ledger.lease([QuotaCharge(.userGPU("a"), 2_000)])
        ledger.setCaps([.userGPU("a"): 10])
        big.settle(actual: [QuotaCharge(.userGPU("a"), .max)])
        #expect(ledger.remaining(.userGPU("a")) == 0)
        #expect(throws: QuotaRefusal.self) { _ = try ledger.lease([QuotaCharge(.userGPU("a"), 1)]) }
        open.void()
    }

    @Test func settleBooksTheActualFigure() throws {
        let ledger = Self.ledger([.userSpend("a"): 100, .gateway: 1_000])
        let lease = try ledger.lease([QuotaCharge(.userSpend("a"), 50), QuotaCharge(.gateway, 50)])
        lease.settle(actual: [QuotaCharge(.userSpend("a"), 30), QuotaCharge(.gateway, 30)])
        #expect(ledger.remaining(.userSpend("a")) == 70)
        #expect(ledger.remaining(.gateway) == 970)
        let rows = ledger.snapshot().sorted { $0.cap < $1.cap }
        #expect(rows.map(\.spent) == [30, 30])
        #expect(rows.map(\.reserved) == [0, 0])
    }

    @Test func voidBooksNothing() throws {
        let ledger = Self.ledger([.userGPU("a"): 5_000])
        let lease = try ledger.lease([QuotaCharge(.userGPU("a"), 5_000)])
        #expect(ledger.remaining(.userGPU("a")) == 0)
        lease.void()
        #expect(ledger.remaining(.userGPU("a")) == 5_000)
    }

    @Test func aDroppedLeaseIsVoided() throws {
        let ledger = Self.ledger([.userGPU("a"): 5_000])
        do {
            let lease = try ledger.lease([QuotaCharge(.userGPU("a"), 2_000)])
            #expect(lease.held == [QuotaCharge(.userGPU("a"), 2_000)])
            #expect(ledger.remaining(.userGPU("a")) == 3_000)
        }
        #expect(ledger.remaining(.userGPU("a")) == 5_000)
    }

    @Test func leaseIsAllOrNothing() throws {
        let ledger = Self.ledger([.userSpend("a"): 100, .backend("b"): 10])
        let refusal = #expect(throws: QuotaRefusal.self) {
            _ = try ledger.lease([QuotaCharge(.userSpend("a"), 50), QuotaCharge(.backend("b"), 11)])
        }
        #expect(refusal?.account == .backend("b"))
        #expect(refusal?.remaining == 10)
        #expect(ledger.remaining(.userSpend("a")) == 100)
    }

    @Test func extendRefusesPastTheCapAndKeepsWhatWasHeld() throws {
        let ledger = Self.ledger([.userGPU("a"): 3_000])
        let lease = try ledger.lease([QuotaCharge(.userGPU("a"), 1_000)])
        try lease.extend(by: [QuotaCharge(.userGPU("a"), 1_000)])
        try lease.extend(by: [QuotaCharge(.userGPU("a"), 1_000)])
        #expect(ledger.remaining(.userGPU("a")) == 0)
        #expect(throws: QuotaRefusal.self) { try lease.extend(by: [QuotaCharge(.userGPU("a"), 1)]) }
        #expect(lease.held.reduce(0) { $0 + $1.amount } == 3_000)
        lease.settle(actual: [QuotaCharge(.userGPU("a"), 2_500)])
        #expect(ledger.remaining(.userGPU("a")) == 500)
    }

    @Test func anExhaustedAccountRefusesEvenAZeroCharge() throws {
        let ledger = Self.ledger([.userSpend("a"): 10])
        try ledger.lease([QuotaCharge(.userSpend("a"), 10)]).settle(actual: [QuotaCharge(.userSpend("a"), 10)])
        let refusal = #expect(throws: QuotaRefusal.self) { _ = try ledger.lease([QuotaCharge(.userSpend("a"), 0)]) }
        // 2026-12-01T00:00:00Z: the month's end.
        #expect(refusal?.resetsAt == 1_796_083_200)
    }

    @Test func uncappedAccountsNeverRefuse() throws {
        let ledger = Self.ledger([:])
        let lease = try ledger.lease(QuotaCharge.request(user: "a", backend: "b", milliGPUSeconds: .max, microDollars: .max))
        lease.settle(actual: QuotaCharge.request(user: "a", backend: "b", milliGPUSeconds: .max, microDollars: .max))
        #expect(ledger.remaining(.userSpend("a")) == .max)
    }

    @Test func aNewPeriodStartsFromZero() throws {
        let clock = Clock(Self.noon)
        let ledger = Self.ledger([.userGPU("a"): 1_000, .userSpend("a"): 1_000], clock: clock)
        try ledger.lease([QuotaCharge(.userGPU("a"), 1_000), QuotaCharge(.userSpend("a"), 1_000)])
            .settle(actual: [QuotaCharge(.userGPU("a"), 1_000), QuotaCharge(.userSpend("a"), 1_000)])
        #expect(ledger.remaining(.userGPU("a")) == 0)
        clock.set(Self.noon + 12 * 3_600)  // the next UTC day, same month
        #expect(ledger.remaining(.userGPU("a")) == 1_000)
        #expect(ledger.remaining(.userSpend("a")) == 0)
        clock.set(Self.noon + 13 * 3_600 + 86_400 * 31)  // next month
        #expect(ledger.remaining(.userSpend("a")) == 1_000)
    }

    @Test func reloadKeepsWhatWasSpent() throws {
        let ledger = Self.ledger([.userSpend("a"): 100])
        try ledger.lease([QuotaCharge(.userSpend("a"), 40)]).settle(actual: [QuotaCharge(.userSpend("a"), 40)])
        ledger.setCaps([.userSpend("a"): 50])
        #expect(ledger.remaining(.userSpend("a")) == 10)
        ledger.setCaps([:])
        #expect(ledger.remaining(.userSpend("a")) == .max)
    }

    @Test func restoreSetsTheSpentFigures() throws {
        let ledger = Self.ledger([.userSpend("a"): 100, .backend("b"): 70])
        ledger.restore(spent: [.userSpend("a"): 90, .backend("b"): 70])
        #expect(ledger.remaining(.userSpend("a")) == 10)
        #expect(throws: QuotaRefusal.self) { _ = try ledger.lease([QuotaCharge(.backend("b"), 1)]) }
    }

    @Test func periodsAreUTCCalendarDaysAndMonths() {
        let periods = QuotaPeriods.utc
        // 2024-02-29T23:59:59Z: a leap day, and the last second of February.
        let t: Int64 = 1_709_251_199
        #expect(periods.day(at: t) == QuotaPeriod(start: 1_709_164_800, end: 1_709_251_200))
        #expect(periods.month(at: t) == QuotaPeriod(start: 1_706_745_600, end: 1_709_251_200))
        // December rolls into January of the next year.
        #expect(periods.month(at: 1_796_083_200 + 5).end == 1_798_761_600)
    }

    /// `defaults.timezone`: a Berlin user's month starts at local midnight, an hour before UTC's
    /// in winter, and the DST day is 23 h long.
    @Test func periodsFollowTheConfiguredZone() throws {
        let periods = QuotaPeriods(calendar: QuotaCalendar(zone: try ZoneRules(posixTZ: "CET-1CEST,M3.5.0,M10.5.0/3")))
        // 2026-01-31T23:30:00Z is already February 1 in Berlin.
        let t: Int64 = 1_769_902_200
        #expect(periods.month(at: t) == QuotaPeriod(start: 1_769_900_400, end: 1_772_319_600))
        #expect(periods.day(at: 1_774_785_600).end - periods.day(at: 1_774_785_600).start == 23 * 3_600)
    }

    /// 10,000 leases from 8 OS threads against a cap that fits 1,000 of them: exactly 1,000 win.
    @Test func racingLeasesNeverExceedTheCap() throws {
        let ledger = Self.ledger([.userSpend("a"): 7_000, .gateway: 1_000_000])
        let granted = Atomic<Int>(0)
        let overshoot = Atomic<Bool>(false)
        let threads = (0..<8).map { _ in
            TestThread {
                for _ in 0..<1_250 {
                    if let lease = try? ledger.lease([QuotaCharge(.userSpend("a"), 7), QuotaCharge(.gateway, 7)]) {
                        granted.add(1, ordering: .relaxed)
                        if ledger.snapshot().contains(where: { $0.spent + $0.reserved > $0.cap }) {
                            overshoot.store(true, ordering: .relaxed)
                        }
                        lease.settle(actual: [QuotaCharge(.userSpend("a"), 7), QuotaCharge(.gateway, 7)])
                    }
                }
            }
        }
        for thread in threads { thread.join() }
        let wins = granted.load(ordering: .relaxed)
        let overshot = overshoot.load(ordering: .relaxed)
        #expect(wins == 1_000)
        #expect(!overshot)
        #expect(ledger.remaining(.userSpend("a")) == 0)
        #expect(ledger.remaining(.gateway) == 1_000_000 - 7_000)
    }
}

/// A POSIX thread running a closure: real parallel threads for the race, not tasks on the
/// cooperative pool (two threads on a two-core machine).
final class TestThread {
    private var handle = pthread_t()

    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let status = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(status == 0, "pthread_create failed: \(status)")
    }

    func join() { pthread_join(handle, nil) }

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
