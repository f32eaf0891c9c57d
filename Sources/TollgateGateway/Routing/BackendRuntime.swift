// SPDX-License-Identifier: Apache-2.0
// One backend's live facts, shared by every loop and kept across reloads (the board keys them
// by name): requests in flight (an atomic, SPEC §2 `max_concurrency` counted across loops), its
// circuit (SPEC §4), a stated cool-down (429 `Retry-After`, a platform's quota reset, rejected
// credentials), what its last probe said, its idle lifecycle, when it was last used (for
// P(cold)) and what cold starts it showed. The decisions themselves are TollgateRouting's pure
// functions; this type only keeps their inputs, under one short lock with no I/O in it.
import Synchronization
import TollgateBackends
import TollgateCore
import TollgateRouting

final class BackendRuntime: Sendable {
    let name: String

    /// A cool-down stated by the backend or decided on its answer.
    struct Cooldown: Sendable, Equatable {
        enum Cause: Sendable, Equatable {
            /// 429 with Retry-After, or a platform's quota error (ZeroGPU) with its reset.
            case quota
            /// 401/403: the gateway's own credentials were refused (SPEC §3 "misconfigured").
            case misconfigured
        }
        var untilNs: UInt64
        var reason: String
        var cause: Cause
    }

    /// How an attempt on this backend ended, for its circuit.
    enum Verdict: Sendable, Equatable {
        /// The backend answered (a reply, or a 4xx that is the request's fault).
        case success
        /// A passive failure (SPEC §3: unreachable, timeout, 5xx, redirect, broken, TLS).
        case failure(String)
        /// Neither: the client left, the reply was too large, the gateway stopped the call.
        case neutral
    }

    struct State: Sendable {
        var circuit: CircuitBreaker
        var lastFailure: String?
        var cooldown: Cooldown?
        var cold: ColdStartEstimate
        /// Start of the latest request and end of the latest one to finish (0: none yet).
        var lastStartNs: UInt64 = 0
        var lastEndNs: UInt64 = 0
        /// The last probe's word and when it came (nil: no probe yet, or none configured).
        var probe: ProbeVerdict?
        var probeAtNs: UInt64 = 0
        /// `idle:`'s lifecycle and settings (nil: no idle policy).
        var idle: IdleLifecycle?
        var idleSettings: BackendRouting.Idle?
        var coldStartMs: Int64 = 0
    }

    private let inFlightCount = Atomic<Int>(0)
    /// Bumped under the lock by every change of `state` (`mutate`): see `read`'s cache.
    private let version = Atomic<UInt64>(0)
    private let limit: Atomic<Int>
    private let state: Mutex<State>

    /// A quota error without a stated reset still keeps the backend out this long, so a spent
    /// quota is not asked again on every request.
    static let defaultCooldownNs: UInt64 = 60_000_000_000
    /// What P(cold) assumes before any cold start was seen: five minutes idle (a common
    /// scale-to-zero idle timeout; Modal's default is 60 s, RunPod's 5 s, a Space's 48 h).
    static let coldAfterPriorMs: Int64 = 300_000

    init(name: String, routing: BackendRouting, nowNs: UInt64) {
        self.name = name
        limit = Atomic(routing.maxConcurrency)
        var initial = State(circuit: Self.breaker(routing), cold: ColdStartEstimate(coldAfterPriorMs: Self.coldAfterPriorMs))
        Self.applyIdle(routing, to: &initial, nowNs: nowNs)
        state = Mutex(initial)
    }

    /// A closed circuit with the backend's `circuit:` settings.
    private static func breaker(_ routing: BackendRouting) -> CircuitBreaker {
        CircuitBreaker(failureThreshold: routing.circuitFailures, cooldownNs: routing.circuitCooldownNs,
                       maxCooldownNs: routing.circuitMaxCooldownNs)
    }

    /// A new idle policy starts its lifecycle now; the same one keeps its state.
    private static func applyIdle(_ routing: BackendRouting, to s: inout State, nowNs: UInt64) {
        s.coldStartMs = routing.coldStartMs
        guard routing.idle != s.idleSettings else { return }
        s.idleSettings = routing.idle
        s.idle = routing.idle.map { IdleLifecycle(afterNs: $0.afterNs, wakesOnRequest: $0.wakesOnRequest, nowNs: nowNs) }
    }

    /// A reload's settings for the same backend: the circuit starts over only when its
    /// settings changed; what was learned and stated (cool-downs) stays.
    func apply(_ routing: BackendRouting, nowNs: UInt64) {
        limit.store(routing.maxConcurrency, ordering: .relaxed)
        mutate { s in
            Self.applyIdle(routing, to: &s, nowNs: nowNs)
            if routing.health == nil { s.probe = nil }
            let fresh = Self.breaker(routing)
            guard (fresh.failureThreshold, fresh.cooldownNs, fresh.maxCooldownNs)
                != (s.circuit.failureThreshold, s.circuit.cooldownNs, s.circuit.maxCooldownNs) else { return }
            s.circuit = fresh
        }
    }

    var inFlight: Int { inFlightCount.load(ordering: .relaxed) }
    var maxConcurrency: Int { limit.load(ordering: .relaxed) }

    // MARK: - Routing inputs

    /// This backend as a router candidate now. `reason` explains an `.unavailable` one.
    func candidate(costModel: CostModel, expectedRunMs: Int64, coldStartMs: Int64, nowNs: UInt64)
        -> (candidate: RoutingCandidate, reason: String?) {
        var candidate = RoutingCandidate(costModel: costModel, maxConcurrency: 1, inFlight: 0, expectedRunMs: 0,
                                         coldStartMs: 0, pCold: 0)
        var cache: CachedFacts?
        let detail = read(into: &candidate, costModel: costModel, expectedRunMs: expectedRunMs, coldStartMs: coldStartMs,
                          nowNs: nowNs, cache: &cache)
        if case .circuitOpen = candidate.availability { return (candidate, nil) }
        return (candidate, detail)
    }

    /// What a routing read needs of `State`, without its words (a cool-down's reason, a
    /// probe's text, the last failure: those need the lock).
    struct Facts: Sendable {
        var cooldownUntilNs: UInt64?
        /// `pausedAvailability`'s answer.
        var paused: Availability?
        var probeUnready: Bool
        var probeWarmth: ProbeWarmth?
        var circuit: CircuitBreaker
        var cold: ColdStartEstimate
        var lastStartNs: UInt64
        var lastEndNs: UInt64

        init(_ s: State) {
            cooldownUntilNs = s.cooldown?.untilNs
            paused = BackendRuntime.pausedAvailability(s)
            probeUnready = s.probe.map { !BackendRuntime.admitsRequests($0) } ?? false
            switch s.probe {
            case .up(warm: true)?: probeWarmth = .warm
            case .up(warm: false)?, .asleep?: probeWarmth = .cold
            default: probeWarmth = nil
            }
            circuit = s.circuit
            cold = s.cold
            lastStartNs = s.lastStartNs
            lastEndNs = s.lastEndNs
        }

        /// The candidate's availability and warmth at `nowNs`; `needsWords`: its skip is
        /// explained by text kept under the lock (cool-down, probe, open circuit).
        func availability(nowNs: UInt64) -> (availability: Availability, warmth: ProbeWarmth?, needsWords: Bool) {
            if let until = cooldownUntilNs, nowNs < until { return (.unavailable, nil, true) }
            // A paused Space's wake is its cold start (already its `wakeMs`); a backend its
            // next request wakes is cold for that request.
            if let paused {
                if case .paused = paused { return (paused, .warm, false) }
                return (paused, .cold, false)
            }
            if probeUnready { return (.unavailable, nil, true) }
            let availability = circuit.availability(now: nowNs)
            if case .circuitOpen = availability { return (availability, probeWarmth, true) }
            return (availability, probeWarmth, false)
        }

        /// P(cold) at `nowNs`; requests in flight keep it warm.
        func pCold(nowNs: UInt64, inFlight: Int, warmth: ProbeWarmth?) -> Double {
            guard inFlight <= 0 else { return 0 }
            let gap = BackendRuntime.idleGapMs(lastStartNs: lastStartNs, lastEndNs: lastEndNs, nowNs: nowNs)
            return cold.probability(gapMs: gap, probe: warmth)
        }
    }

    /// What one loop last read of this backend (`RouteScratch`), valid while `version` stays.
    struct CachedFacts: Sendable {
        let runtime: BackendRuntime
        let version: UInt64
        let facts: Facts
    }

    /// The routing decision's read (RequestRoute, on every request): this backend as a router
    /// candidate now, written over `candidate` (no copy of a tuple). Returns what the skip's
    /// text needs: the reason of an `.unavailable` one, the last failure of one whose circuit
    /// is open (`RequestRoute.text`). `cache`, the loop's last read of this backend: while
    /// nothing changed it (the same `version`), it is used without taking the lock, so an
    /// idle backend's lock is not written by every decision of every loop (issue 12: the
    /// decision's cost); otherwise the lock is taken and the cache renewed.
    func read(into candidate: inout RoutingCandidate, costModel: CostModel, expectedRunMs: Int64, coldStartMs: Int64,
              nowNs: UInt64, cache: inout CachedFacts?) -> String? {
        let inFlight = self.inFlight
        let maxConcurrency = self.maxConcurrency
        candidate.costModel = costModel
        candidate.maxConcurrency = maxConcurrency
        candidate.inFlight = inFlight
        candidate.expectedRunMs = expectedRunMs
        candidate.coldStartMs = coldStartMs
        if let cached = cache, cached.runtime === self, cached.version == version.load(ordering: .acquiring) {
            let (availability, warmth, needsWords) = cached.facts.availability(nowNs: nowNs)
            if !needsWords {
                candidate.pCold = cached.facts.pCold(nowNs: nowNs, inFlight: inFlight, warmth: warmth)
                candidate.availability = availability
                return nil
            }
        }
        return state.withLock { s -> String? in
            let facts = Facts(s)
            // Changes bump the version under this lock: the one read here is the facts'.
            cache = CachedFacts(runtime: self, version: version.load(ordering: .relaxed), facts: facts)
            let reading = Self.reading(s, facts: facts, inFlight: inFlight, nowNs: nowNs)
            candidate.pCold = reading.pCold
            candidate.availability = reading.availability
            return reading.detail
        }
    }

    /// The router's view of one copy of the state: availability, P(cold), and what a skip's
    /// words need (a cool-down's or a probe's reason, an open circuit's last failure). The
    /// routing read and /admin/backends both read the state through here.
    static func reading(_ s: State, facts: Facts? = nil, inFlight: Int, nowNs: UInt64)
        -> (availability: Availability, pCold: Double, detail: String?) {
        let facts = facts ?? Facts(s)
        let (availability, warmth, _) = facts.availability(nowNs: nowNs)
        let pCold = facts.pCold(nowNs: nowNs, inFlight: inFlight, warmth: warmth)
        let detail: String?
        if let cooldown = s.cooldown, nowNs < cooldown.untilNs {
            detail = describe(cooldown, nowNs: nowNs)
        } else if facts.paused != nil {
            detail = nil
        } else if let probe = s.probe, let unready = probeReason(probe) {
            detail = unready
        } else if case .circuitOpen = availability {
            detail = s.lastFailure
        } else {
            detail = nil
        }
        return (availability, pCold, detail)
    }

    /// Whether the router may pick or try a backend of this availability (SPEC §4
    /// `tollgate_backend_up`).
    static func isEligible(_ availability: Availability) -> Bool {
        switch availability {
        case .ready, .halfOpenBusy: return true
        case .circuitOpen, .unavailable, .paused: return false
        }
    }

    /// Every change of `state` goes through here: it bumps `version` (under the lock), so
    /// a loop's cached read of the old state is not used again.
    @discardableResult
    private func mutate<R>(_ body: (inout State) -> R) -> R {
        state.withLock { s in
            let result = body(&s)
            version.wrappingAdd(1, ordering: .releasing)
            return result
        }
    }

    /// Takes one of the backend's `max_concurrency` slots and, when its circuit's cooldown is
    /// over, its one half-open trial. `forced`: every circuit is open and this backend failed
    /// least recently (issue 12 item 3): it is tried though its circuit is open.
    func acquire(nowNs: UInt64, forced: Bool) -> Bool {
        var gap: Int64?
        return acquire(nowNs: nowNs, forced: forced, idleGapMs: &gap)
    }

    /// `acquire`, also giving the time the backend had been idle before this request took it
    /// (nil: never used since start), read before the new start is marked — what `finish`
    /// teaches P(cold) with when the reply says whether the backend was cold.
    func acquire(nowNs: UInt64, forced: Bool, idleGapMs: inout Int64?) -> Bool {
        // One lock for the whole take: the trial is admitted, the slot counted, the start
        // marked — or the trial put back as it was when the backend is full.
        let maxConcurrency = self.maxConcurrency
        let taken = mutate { s -> (taken: Bool, gap: Int64?) in
            // Paused and not woken by a request (a Space): it waits for its restart, and one
            // whose pause call is out is as good as paused.
            if let idle = s.idle, !(s.idleSettings?.wakesOnRequest ?? true) {
                switch idle.state {
                case .paused, .waking, .pausing: return (false, nil)
                case .active: break
                }
            }
            let circuitBefore = s.circuit
            guard forced || s.circuit.admit(now: nowNs) else { return (false, nil) }
            // The count is also read without the lock (the snapshot), so it stays an atomic.
            var current = inFlightCount.load(ordering: .relaxed)
            while true {
                guard current < maxConcurrency else {
                    // Full (another loop took the slot): the trial it took goes back.
                    s.circuit = circuitBefore
                    return (false, nil)
                }
                let (exchanged, original) = inFlightCount.compareExchange(
                    expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
                if exchanged { break }
                current = original
            }
            // The gap since the last use is what P(cold) is learned from (`observe`).
            let gap = Self.idleGapMs(lastStartNs: s.lastStartNs, lastEndNs: s.lastEndNs, nowNs: nowNs)
            s.lastStartNs = nowNs
            // An `http`-paused backend is woken by this request (counted as a wake).
            _ = s.idle?.requestStarted(nowNs: nowNs)
            return (true, gap)
        }
        if taken.taken { idleGapMs = taken.gap }
        return taken.taken
    }

    /// Gives the slot back and feeds the outcome to the circuit. `coldObserved`: whether the
    /// attempt met a cold backend, with the idle gap before it (nil: nothing learned).
    func finish(nowNs: UInt64, verdict: Verdict, cold: (gapMs: Int64, cold: Bool)?) {
        inFlightCount.wrappingSubtract(1, ordering: .acquiringAndReleasing)
        mutate { s in
            s.lastEndNs = max(s.lastEndNs, nowNs)
            switch verdict {
            case .success:
                s.circuit.recordSuccess()
                s.lastFailure = nil
                // A request it served proves it up, as a probe would (SPEC §4: healthy until
                // a probe or a request fails it): e.g. a stopped box its request started.
                if let probe = s.probe, !Self.admitsRequests(probe) {
                    s.probe = .up(warm: true)
                    s.probeAtNs = nowNs
                }
            case .failure(let why):
                s.circuit.recordFailure(now: nowNs)
                s.lastFailure = why
            case .neutral:
                // A half-open trial the client abandoned decides nothing: the next request
                // tries again.
                if case .halfOpen = s.circuit.state { s.circuit.reopenUntried(now: nowNs) }
            }
            if let cold { s.cold.observe(gapMs: cold.gapMs, cold: cold.cold) }
            s.idle?.requestEnded(nowNs: nowNs)
        }
    }

    // MARK: - Probes and the idle lifecycle

    /// Pauses and wakes so far and the time spent paused (nil: no idle policy), for the log
    /// and /metrics.
    func lifecycleFigures(nowNs: UInt64) -> (pauses: Int, wakes: Int, pausedNs: UInt64)? {
        state.withLock { s in s.idle.map { ($0.pauses, $0.wakes, $0.pausedNs(nowNs: nowNs)) } }
    }

    /// A probe's answer. True when it ends a wake (the backend is up again): requests
    /// waiting for it may go.
    func recordProbe(_ verdict: ProbeVerdict, nowNs: UInt64) -> Bool {
        mutate { s in
            let before = s.probe
            s.probe = verdict
            s.probeAtNs = nowNs
            guard case .up = verdict else { return false }
            if let idle = s.idle {
                switch idle.state {
                case .waking, .paused:
                    s.idle?.awake(nowNs: nowNs)
                    return true
                case .active, .pausing:
                    break
                }
            }
            // Up again after a pause or a start the gateway did not make: whoever waits for
            // it may go.
            return before == .paused || before == .starting
        }
    }

    /// The idle check: `.pause` when the backend has been unused for `after` with nothing in
    /// flight (the lifecycle moves to pausing; report the call's result).
    func idleTick(nowNs: UInt64) -> IdleLifecycle.Action? {
        let inFlight = self.inFlight
        return mutate { s in s.idle?.tick(nowNs: nowNs, inFlight: inFlight) }
    }

    /// The pause call's result. True when a request came while the call was out and the
    /// backend is to be woken at once (the caller sends the wake call).
    func pauseFinished(ok: Bool, nowNs: UInt64) -> Bool {
        mutate { s in
            guard ok else {
                s.idle?.pauseFailed(nowNs: nowNs)
                return false
            }
            return s.idle?.pauseSucceeded(nowNs: nowNs) == .wake
        }
    }

    /// A request would go here if it were awake: true when the caller is to send the wake
    /// call (once: the lifecycle moves to waking).
    func wakeNeeded(nowNs: UInt64) -> Bool {
        mutate { s in
            if s.idle?.wakeNeeded(nowNs: nowNs) == .wake { return true }
            // The pause call is still out: the lifecycle wakes it as soon as the call is done
            // (`pauseFinished` says so), the request waits meanwhile.
            if case .pausing? = s.idle?.state {
                _ = s.idle?.requestStarted(nowNs: nowNs)
                return false
            }
            // The Hub says PAUSED though the gateway did not pause it (its owner did): the
            // restart is the same, and the probe says when it runs.
            if s.probe == .paused, s.idleSettings?.wakesOnRequest == false {
                s.probe = .starting
                s.probeAtNs = nowNs
                return true
            }
            return false
        }
    }

    /// The wake call's result: a restart the Hub took is not yet a running Space — the probe
    /// says when it runs. A failed call leaves it paused (a later request tries again).
    func wakeCallFinished(ok: Bool, nowNs: UInt64) {
        guard !ok else { return }
        mutate { s in s.idle?.wakeFailed(nowNs: nowNs) }
    }

    /// The supervisor stopped the pause or wake call before it reported (a reload, a drain):
    /// its outcome unknown, it counts as failed — a pause leaves the backend active (a probe
    /// that finds the Space paused anyway has `wakeNeeded` restart it), a wake leaves it
    /// paused (the next request wakes it again). True when requests may wait for it.
    func idleCallStopped(nowNs: UInt64) -> Bool {
        mutate { s in
            switch s.idle?.state {
            case .pausing?:
                s.idle?.pauseFailed(nowNs: nowNs)
                return true
            case .waking?:
                s.idle?.wakeFailed(nowNs: nowNs)
                return true
            case .active?, .paused?, nil:
                return false
            }
        }
    }

    /// Waking for longer than this is given up (a later request tries again).
    static func wakeLimitNs(coldStartMs: Int64) -> UInt64 {
        max(300_000_000_000, UInt64(max(0, coldStartMs)).multipliedReportingOverflow(by: 3_000_000).partialValue)
    }

    /// Whether its idle action has paused it, or is pausing it now.
    func isIdlePaused() -> Bool {
        state.withLock { s in
            switch s.idle?.state {
            case .paused?, .pausing?: return true
            case .active?, .waking?, nil: return false
            }
        }
    }

    /// Whether the backend is waking now (the supervisor polls its probe faster meanwhile).
    func isWaking(nowNs: UInt64) -> Bool {
        mutate { s in
            guard case .waking(let since)? = s.idle?.state else { return false }
            if nowNs > since, nowNs - since > Self.wakeLimitNs(coldStartMs: s.coldStartMs) {
                s.idle?.wakeFailed(nowNs: nowNs)
                return false
            }
            return true
        }
    }

    /// A backend paused by its idle action, as the router sees it: a Space (woken by a
    /// restart) is `.paused` with its wake time as latency; an `http`-paused one is routed as
    /// usual, cold. A Space the Hub reports PAUSED without our pause can be woken the same
    /// way when its idle action is ours to take.
    private static func pausedAvailability(_ s: State) -> Availability? {
        if let idle = s.idle, let settings = s.idleSettings {
            switch idle.state {
            case .paused, .waking:
                if settings.wakesOnRequest { return .ready }
                return .paused(wakeMs: max(s.coldStartMs, 1))
            case .pausing where !settings.wakesOnRequest:
                // Its pause call is out: as good as paused. A request that still wants it
                // waits for the wake that follows the pause (`wakeNeeded` notes it), or goes
                // elsewhere when another candidate is better or the wake outlasts its wait.
                return .paused(wakeMs: max(s.coldStartMs, 1))
            case .active, .pausing:
                if s.probe == .paused, !settings.wakesOnRequest { return .paused(wakeMs: max(s.coldStartMs, 1)) }
            }
        }
        return nil
    }

    /// Why a backend its idle action paused cannot take a request yet (a Space: only its
    /// restart brings it back), for the 503's list; nil when it can.
    func idleReason(nowNs: UInt64) -> String? {
        state.withLock { s in
            guard let idle = s.idle, let settings = s.idleSettings, !settings.wakesOnRequest else { return nil }
            switch idle.state {
            case .active: return nil
            case .pausing: return "being paused by its idle action"
            case .paused: return "paused by its idle action"
            case .waking(let since): return "waking from its idle pause (for \(Self.seconds(nowNs &- since))s)"
            }
        }
    }

    /// Why a probe's answer keeps the backend out, nil when it may take requests.
    private static func probeReason(_ verdict: ProbeVerdict) -> String? {
        switch verdict {
        case .up, .asleep: return nil
        case .starting: return "starting (health probe)"
        case .paused: return "paused (health probe: only a restart brings it back)"
        case .down(let why): return "health probe failed: \(why)"
        }
    }

    /// Whether a probe's answer lets the backend take requests (no text built: the hot
    /// path's question).
    private static func admitsRequests(_ verdict: ProbeVerdict) -> Bool {
        switch verdict {
        case .up, .asleep: return true
        case .starting, .paused, .down: return false
        }
    }

    /// The backend is not to be tried before `untilNs`; a longer cool-down in place stays.
    func coolDown(untilNs: UInt64, reason: String, cause: Cooldown.Cause) {
        mutate { s in
            if let existing = s.cooldown, existing.untilNs >= untilNs { return }
            s.cooldown = Cooldown(untilNs: untilNs, reason: reason, cause: cause)
        }
    }

    /// The cool-down in force at `nowNs`, if any.
    func cooldown(nowNs: UInt64) -> Cooldown? {
        state.withLock { s in
            guard let c = s.cooldown, nowNs < c.untilNs else { return nil }
            return c
        }
    }

    /// Whether a request may go to it now (`tollgate_backend_up`, SPEC §4): not cooled down
    /// and its circuit closed, half-open, or open with its cooldown over.
    func isEligible(nowNs: UInt64) -> Bool {
        // The router's own reading of the state: eligible is what it may pick or try.
        Self.isEligible(state.withLock({ Facts($0) }).availability(nowNs: nowNs).availability)
    }

    /// When a backend out for a stated time comes back: its cool-down's end, or its open
    /// circuit's; nil when it is not out for a time (a probe, a pause, or not out at all).
    func backAtNs(nowNs: UInt64) -> UInt64? {
        state.withLock { s in
            var back: UInt64?
            if let c = s.cooldown, nowNs < c.untilNs { back = c.untilNs }
            if case .open(let until) = s.circuit.state, nowNs < until { back = max(back ?? 0, until) }
            return back
        }
    }

    /// A copy of the state, for /admin/backends.
    func snapshot() -> State { state.withLock { $0 } }

    /// Why an open circuit skips the backend, for the 503's list.
    func circuitReason(untilNs: UInt64, nowNs: UInt64) -> String {
        Self.circuitReason(untilNs: untilNs, nowNs: nowNs, lastFailure: state.withLock { $0.lastFailure })
    }

    static func circuitReason(untilNs: UInt64, nowNs: UInt64, lastFailure: String?) -> String {
        let open = "circuit open for \(Self.seconds(untilNs > nowNs ? untilNs - nowNs : 0))s"
        return lastFailure.map { "\(open) (last failure: \($0))" } ?? open
    }

    /// A cool-down's reason for the 503's list: the backend's own words and how long it stays out.
    static func describe(_ cooldown: Cooldown, nowNs: UInt64) -> String {
        "\(cooldown.reason) (cooling down for \(seconds(cooldown.untilNs > nowNs ? cooldown.untilNs - nowNs : 0))s)"
    }

    /// Nanoseconds as whole seconds rounded up, without an addition that could overflow
    /// (`until` may come from a platform's text through its adapter).
    static func seconds(_ ns: UInt64) -> UInt64 {
        let (whole, part) = ns.quotientAndRemainder(dividingBy: 1_000_000_000)
        return part == 0 ? whole : whole + 1
    }

    static func milliseconds(_ ns: UInt64) -> Int64 { Int64(clamping: ns / 1_000_000) }

    /// How long the backend has been idle at `nowNs`: since its last request started or ended,
    /// whichever is later; nil when it was never used since start.
    static func idleGapMs(lastStartNs: UInt64, lastEndNs: UInt64, nowNs: UInt64) -> Int64? {
        lastStartNs == 0 ? nil : elapsedMs(from: max(lastStartNs, lastEndNs), to: nowNs)
    }

    /// The time from `start` to `end` (monotonic ns), in ms; 0 when `end` is not later. Each
    /// loop reads its own cached clock, so another loop may have stamped a time "after" this
    /// loop's now (a wrapped subtraction would read as half a million years).
    static func elapsedMs(from start: UInt64, to end: UInt64) -> Int64 {
        milliseconds(end > start ? end - start : 0)
    }
}
