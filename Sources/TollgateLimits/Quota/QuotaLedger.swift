// SPDX-License-Identifier: Apache-2.0
// The integer quota ledger (SPEC §4). A request leases its expected cost before it is dispatched,
// extends the lease while it runs, and settles it to the metered figures at the end (or voids it
// when it failed). A lease never takes more than remains, so concurrent requests racing for the
// last units of a quota cannot overshoot it: admission and reservation are one step under one
// lock, shared by every event loop (the lock is held for a few dictionary operations, never
// across I/O).
import Glibc
import Synchronization

public final class QuotaLedger: Sendable {
    struct Balance {
        /// nil = unlimited (the balance is still kept, so a reload that adds a cap sees what was
        /// already spent).
        var cap: Int64?
        /// Settled in the current period.
        var spent: Int64 = 0
        /// Held by open leases.
        var reserved: Int64 = 0
        var period: QuotaPeriod

        var remaining: Int64 {
            guard let cap else { return .max }
            // Saturating: spent can reach Int64.max (a settle above its lease is booked as
            // metered) and reserved can exceed a cap a reload lowered; wrapping arithmetic
            // would turn that into a huge balance.
            let (used, overflow) = spent.addingReportingOverflow(reserved)
            return overflow || used >= cap ? 0 : cap - used
        }
    }

    struct State {
        var balances: [QuotaAccount: Balance] = [:]
        var caps: [QuotaAccount: Int64] = [:]
        var leases: [UInt64: [QuotaCharge]] = [:]
        var nextLease: UInt64 = 1
    }

    private let state = Mutex(State())
    private let periods: QuotaPeriods
    /// Unix seconds now; injected so tests can cross a period's end.
    private let clock: @Sendable () -> Int64

    /// Unix seconds of the system's real-time clock: calendar periods are wall-clock periods.
    public static let wallClock: @Sendable () -> Int64 = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
    }

    public init(caps: [QuotaAccount: Int64] = [:], periods: QuotaPeriods = .utc, clock: @escaping @Sendable () -> Int64) {
        self.periods = periods
        self.clock = clock
        state.withLock { $0.caps = caps.filter { $0.value > 0 } }
    }

    /// Replaces every cap (a reload); balances and open leases are kept. Accounts absent from
    /// `caps`, or with a cap ≤ 0, become unlimited.
    public func setCaps(_ caps: [QuotaAccount: Int64]) {
        let kept = caps.filter { $0.value > 0 }
        state.withLock { state in
            state.caps = kept
            for account in Array(state.balances.keys) { state.balances[account]?.cap = kept[account] }
        }
    }

    /// Reserves all of `charges` at once or none of them. Refused when one of the capped
    /// accounts cannot cover its amount, or has nothing left at all (so a request that costs 0
    /// dollars is still refused once its user's month is spent).
    public func lease(_ charges: [QuotaCharge]) throws(QuotaRefusal) -> Lease {
        let now = clock()
        // The pure work before the lock every loop shares.
        let wanted = Self.perAccount(charges)
        let kept = charges.filter { $0.amount > 0 }
        let id: UInt64 = try state.withLock { (state: inout State) throws(QuotaRefusal) -> UInt64 in
            try Self.reserve(wanted, in: &state, now: now, periods: periods)
            let id = state.nextLease
            state.nextLease &+= 1
            state.leases[id] = kept
            return id
        }
        return Lease(ledger: self, id: id)
    }

    /// What `account` could still lease now (Int64.max when it has no cap).
    public func remaining(_ account: QuotaAccount) -> Int64 {
        let now = clock()
        return state.withLock { state in
            Self.balance(account, in: &state, now: now, periods: periods).remaining
        }
    }

    /// The first of `accounts` that has a cap and nothing left, as a refusal; nil when each
    /// has something (admission before a backend is picked; the lease decides for real).
    public func exhausted(_ accounts: [QuotaAccount]) -> QuotaRefusal? {
        let now = clock()
        return state.withLock { state in
            for account in accounts {
                let balance = Self.balance(account, in: &state, now: now, periods: periods)
                if balance.cap != nil && balance.remaining == 0 {
                    return QuotaRefusal(account: account, remaining: 0, resetsAt: balance.period.end)
                }
            }
            return nil
        }
    }

    /// One row per capped account, for `/metrics` and `/v1/usage`.
    public struct Row: Sendable, Equatable {
        public var account: QuotaAccount
        public var cap: Int64
        public var spent: Int64
        public var reserved: Int64
        public var remaining: Int64
        public var period: QuotaPeriod
    }

    public func snapshot() -> [Row] {
        let now = clock()
        return state.withLock { state in
            state.caps.keys.map { account in
                let balance = Self.balance(account, in: &state, now: now, periods: periods)
                return Row(account: account, cap: balance.cap ?? 0, spent: balance.spent, reserved: balance.reserved,
                           remaining: balance.remaining, period: balance.period)
            }
        }
    }

    /// The balance of `account` now, or nil when it has no cap.
    public func row(_ account: QuotaAccount) -> Row? {
        let now = clock()
        return state.withLock { state in
            let balance = Self.balance(account, in: &state, now: now, periods: periods)
            guard let cap = balance.cap else { return nil }
            return Row(account: account, cap: cap, spent: balance.spent, reserved: balance.reserved,
                       remaining: balance.remaining, period: balance.period)
        }
    }

    /// Sets what was already spent in the current periods (the usage log read back at start-up,
    /// before the gateway listens). `spent` is keyed by account; figures of accounts whose
    /// period the caller did not mean are its concern.
    public func restore(spent: [QuotaAccount: Int64]) {
        let now = clock()
        state.withLock { state in
            for (account, amount) in spent {
                var balance = Self.balance(account, in: &state, now: now, periods: periods)
                balance.spent = max(0, amount)
                state.balances[account] = balance
            }
        }
    }

    /// The current period of `span` now, for the caller reading the usage log back.
    public func currentPeriod(_ span: QuotaSpan) -> QuotaPeriod { periods.period(span, at: clock()) }

    // MARK: - Lease operations (called by Lease only)

    fileprivate func extend(_ id: UInt64, by charges: [QuotaCharge]) throws(QuotaRefusal) {
        let now = clock()
        let wanted = Self.perAccount(charges)
        let kept = charges.filter { $0.amount > 0 }
        try state.withLock { (state: inout State) throws(QuotaRefusal) in
            guard state.leases[id] != nil else { return }
            try Self.reserve(wanted, in: &state, now: now, periods: periods)
            state.leases[id, default: []].append(contentsOf: kept)
        }
    }

    /// Drops the lease's reservation and books `actual` (nil = void: nothing is booked).
    fileprivate func finish(_ id: UInt64, actual: [QuotaCharge]?) {
        let now = clock()
        state.withLock { state in
            guard let held = state.leases.removeValue(forKey: id) else { return }
            for charge in held {
                var balance = Self.balance(charge.account, in: &state, now: now, periods: periods)
                balance.reserved = max(0, balance.reserved &- charge.amount)
                state.balances[charge.account] = balance
            }
            for charge in actual ?? [] where charge.amount > 0 {
                var balance = Self.balance(charge.account, in: &state, now: now, periods: periods)
                let (sum, overflow) = balance.spent.addingReportingOverflow(charge.amount)
                balance.spent = overflow ? .max : sum
                state.balances[charge.account] = balance
            }
        }
    }

    fileprivate func held(_ id: UInt64) -> [QuotaCharge] { state.withLock { $0.leases[id] ?? [] } }

    // MARK: - Under the lock

    /// The charges summed per account, in the order the accounts first appear: the same
    /// account named twice must be covered once for both. (A request names a handful of
    /// accounts, so a linear search beats hashing.) Worked out outside the lock.
    private static func perAccount(_ charges: [QuotaCharge]) -> [(account: QuotaAccount, amount: Int64)] {
        var wanted: [(account: QuotaAccount, amount: Int64)] = []
        wanted.reserveCapacity(charges.count)
        for charge in charges {
            let amount = max(0, charge.amount)
            if let index = wanted.firstIndex(where: { $0.account == charge.account }) {
                let (sum, overflow) = wanted[index].amount.addingReportingOverflow(amount)
                wanted[index].amount = overflow ? .max : sum
            } else {
                wanted.append((charge.account, amount))
            }
        }
        return wanted
    }

    private static func reserve(_ wanted: [(account: QuotaAccount, amount: Int64)], in state: inout State, now: Int64,
                                periods: QuotaPeriods) throws(QuotaRefusal) {
        // Checked all before any is booked: all or nothing.
        var updated: [(account: QuotaAccount, balance: Balance)] = []
        updated.reserveCapacity(wanted.count)
        for (account, amount) in wanted {
            var balance = balance(account, in: &state, now: now, periods: periods)
            if balance.cap != nil, amount > balance.remaining || balance.remaining == 0 {
                throw QuotaRefusal(account: account, remaining: balance.remaining, resetsAt: balance.period.end)
            }
            let (sum, overflow) = balance.reserved.addingReportingOverflow(amount)
            balance.reserved = overflow ? .max : sum
            updated.append((account, balance))
        }
        for (account, balance) in updated { state.balances[account] = balance }
    }

    /// The account's balance in the period containing `now`: a balance whose period has ended
    /// starts again from 0 spent (its open reservations are kept: they are settled into the
    /// period they end in, as the usage log dates a request by its end).
    private static func balance(_ account: QuotaAccount, in state: inout State, now: Int64,
                                periods: QuotaPeriods) -> Balance {
        if var balance = state.balances[account] {
            if !balance.period.contains(now) {
                balance.period = periods.period(account.span, at: now)
                balance.spent = 0
                state.balances[account] = balance
            }
            return balance
        }
        let balance = Balance(cap: state.caps[account], period: periods.period(account.span, at: now))
        state.balances[account] = balance
        return balance
    }
}

/// A reservation against the ledger. Not copyable, so it is settled or voided exactly once;
/// `settle` and `void` consume it, and one dropped without either is voided by its deinit, so a
/// forgotten path (an early return, a thrown error) can never keep quota reserved forever.
public struct Lease: ~Copyable, Sendable {
    private let ledger: QuotaLedger
    public let id: UInt64
    /// Cleared by `settle`/`void`: their deinit then has nothing to end (no second trip to
    /// the ledger's lock per attempt).
    private var open = true

    fileprivate init(ledger: QuotaLedger, id: UInt64) {
        self.ledger = ledger
        self.id = id
    }

    /// Reserves `charges` more, all or nothing; on refusal the lease keeps what it held.
    public func extend(by charges: [QuotaCharge]) throws(QuotaRefusal) {
        try ledger.extend(id, by: charges)
    }

    /// What the lease holds now, per charge as reserved.
    public var held: [QuotaCharge] { ledger.held(id) }

    /// Ends the lease and books what was actually used (may differ from what was held).
    public consuming func settle(actual: [QuotaCharge]) {
        ledger.finish(id, actual: actual)
        open = false
    }

    /// Ends the lease booking nothing (the request failed, so it is not billed).
    public consuming func void() {
        ledger.finish(id, actual: nil)
        open = false
    }

    deinit {
        // A lease dropped without settle/void is voided.
        if open { ledger.finish(id, actual: nil) }
    }
}
