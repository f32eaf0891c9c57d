// SPDX-License-Identifier: Apache-2.0
// One loop's share of the backends' upkeep (issue 12 items 2 and 5): the active health probes
// (SPEC §4: ones that neither wake nor bill a GPU) and the idle actions of the backends this
// loop looks after — backend i on loop i mod loops, so each is probed once, not once per loop.
// What they find goes to the shared BackendRuntime, where every loop's router reads it. A wake
// is sent by whichever loop's request asked for it, and that loop then polls the backend's
// runtime every second until it runs. Probes and idle calls run on this loop's libcurl multi;
// nothing here is on a request's path. Pauses and wakes are logged as one JSON line each, with
// what the pause saved. Loop-confined.
import TollgateBackends
import TollgateCore
import TollgateIO
import TollgateRouting

final class BackendSupervisor {
    private let loop: EventLoop
    private let backendLoop: BackendLoop
    private let loopIndex: Int
    private let loopCount: Int
    /// Writes one operator line (a JSON object) to the log.
    private let log: (String) -> Void
    private var plan: GatewayPlan?
    /// Bumped by every install: timers of an older plan do nothing.
    private var generation = 0
    /// Pending timers by job, so a new plan cancels them all (one per job at a time).
    private var timers: [Job: TimerToken] = [:]
    /// Probes and calls in flight, by backend index, so one backend never has two at once and
    /// a new plan stops the old plan's.
    private var probes: [Int: BufferedCall] = [:]
    /// With the runtime and the tables they act for: a call stopped before it reported still
    /// has to settle its backend's lifecycle (`stop`).
    private var idleCalls: [Int: (call: BufferedCall, runtime: BackendRuntime, tables: RoutingTables)] = [:]
    /// What the last log lines said, per backend name: pauses and wakes logged so far.
    private var logged: [String: (pauses: Int, wakes: Int, pausedNs: UInt64)] = [:]

    /// A probe answers within this, or counts as failed.
    static let probeTimeoutMs = 10_000
    /// While a backend wakes, its runtime is read this often.
    static let wakePollNs: UInt64 = 1_000_000_000

    init(loop: EventLoop, backendLoop: BackendLoop, loopIndex: Int, loopCount: Int, log: @escaping (String) -> Void) {
        self.loop = loop
        self.backendLoop = backendLoop
        self.loopIndex = loopIndex
        self.loopCount = max(1, loopCount)
        self.log = log
    }

    /// Looks after `plan`'s backends from now on: the old plan's timers and calls stop.
    func install(_ plan: GatewayPlan) {
        loop.assertInLoop()
        stop()
        self.plan = plan
        generation &+= 1
        for (index, backend) in plan.backends.enumerated() where index % loopCount == loopIndex {
            if backend.routing.health != nil { schedule(.probe(index), in: 0) }
            if let idle = backend.routing.idle { schedule(.idle(index), in: Self.idleTickNs(idle.afterNs)) }
            // A wake the old plan was watching (its poll stopped with it) goes on being
            // watched here, or a backend without a probe would stay waking for good.
            if backend.routing.idle != nil, plan.routing.runtimes.indices.contains(index),
               plan.routing.runtimes[index].isWaking(nowNs: loop.now) {
                schedule(.wakePoll(index), in: 0)
            }
        }
    }

    /// Stops every timer and call (drain, or a new plan).
    func stop() {
        for token in timers.values { loop.cancel(token) }
        timers.removeAll()
        for call in probes.values { call.cancel() }
        // A cancelled call never reports (BufferedCall), yet its backend's lifecycle outlives
        // this plan (the board keeps it across reloads): left `pausing` or `waking` it would
        // never take a request again. Its outcome unknown, it counts as failed — the probe
        // tells if the Hub acted anyway — and whoever waits for the backend tries again.
        for (index, out) in idleCalls {
            out.call.cancel()
            if out.runtime.idleCallStopped(nowNs: loop.now) { out.tables.backendWoke(index) }
        }
        probes.removeAll()
        idleCalls.removeAll()
        plan = nil
    }

    /// A request wants backend `index` of `plan`, which its idle action paused: send the wake
    /// call (once, whichever loop asks first) and poll until it runs.
    /// `alreadyWaking`: the lifecycle already moved to waking (a pause that met a request).
    func wake(_ index: Int, plan: GatewayPlan, alreadyWaking: Bool = false) {
        guard plan.backends.indices.contains(index), let idle = plan.backends[index].routing.idle,
              let endpoint = plan.backends[index].routing.endpoint else { return }
        let runtime = plan.routing.runtimes[index]
        guard alreadyWaking || runtime.wakeNeeded(nowNs: loop.now) else { return }
        let backend = plan.backends[index]
        let hub = backend.routing.hub
        let call = IdleCalls.wake(idle.call, endpoint: endpoint, hub: hub, on: backendLoop, timeoutMs: Self.probeTimeoutMs) {
            [weak self] result in
            guard let self else { return }
            self.idleCalls[index] = nil
            switch result {
            case .done:
                self.pollWhileWaking(index, plan: plan)
            case .failed(let why):
                runtime.wakeCallFinished(ok: false, nowNs: self.loop.now)
                self.log(Self.event("backend_wake_failed", backend: backend.name, fields: [("error", .text(why))]))
            }
        }
        if let call { idleCalls[index] = (call, runtime, plan.routing) }
    }

    // MARK: - Timers

    enum Job: Hashable {
        case probe(Int)
        case idle(Int)
        case wakePoll(Int)
    }

    private func schedule(_ job: Job, in delayNs: UInt64) {
        let (at, overflow) = loop.now.addingReportingOverflow(delayNs)
        if let previous = timers[job] { loop.cancel(previous) }
        timers[job] = loop.schedule(SupervisorTimer(supervisor: self, job: job, generation: generation),
                                    at: overflow ? .max : at)
    }

    func timerFired(_ job: Job, generation: Int) {
        guard generation == self.generation, let plan else { return }
        timers[job] = nil
        switch job {
        case .probe(let index): probe(index, plan: plan, again: true)
        case .wakePoll(let index): pollWhileWaking(index, plan: plan)
        case .idle(let index): idleTick(index, plan: plan)
        }
    }

    // MARK: - Probes

    /// One probe of backend `index`; `again`: schedule the next at its interval (the periodic
    /// probe), else only report (a wake poll).
    private func probe(_ index: Int, plan: GatewayPlan, again: Bool) {
        guard plan.backends.indices.contains(index), let endpoint = plan.backends[index].routing.endpoint else { return }
        let backend = plan.backends[index]
        let target = backend.routing.health?.target ?? Self.wakeTarget(backend)
        guard let target else { return }
        if again, let interval = backend.routing.health?.intervalNs { schedule(.probe(index), in: interval) }
        guard probes[index] == nil else { return }
        let runtime = plan.routing.runtimes[index]
        // A probe of the box itself while its idle action has it paused would be the very
        // request that wakes a box that starts on demand (issue 12 item 2: health that
        // neither wakes nor bills a GPU) — and tells nothing the lifecycle does not know. The
        // Hub's runtime and RunPod's /health are the platform's, never the GPU's: they go on.
        if case .path = target, runtime.isIdlePaused() { return }
        let generation = self.generation
        probes[index] = HealthProbe.start(target, endpoint: endpoint, hub: backend.routing.hub, on: backendLoop,
                                          timeoutMs: Self.probeTimeoutMs) { [weak self] verdict in
            guard let self, generation == self.generation else { return }
            self.probes[index] = nil
            let verdict = Self.redacted(verdict, plan.redactor)
            if runtime.recordProbe(verdict, nowNs: self.loop.now) {
                plan.routing.backendWoke(index)
            }
        }
    }

    /// While backend `index` wakes, its runtime is read every second on this loop (faster than
    /// the periodic probe), until it runs or the wake is given up.
    private func pollWhileWaking(_ index: Int, plan: GatewayPlan) {
        guard plan.routing.runtimes.indices.contains(index) else { return }
        let runtime = plan.routing.runtimes[index]
        guard runtime.isWaking(nowNs: loop.now) else { return }
        if plan === self.plan { probe(index, plan: plan, again: false) }
        schedule(.wakePoll(index), in: Self.wakePollNs)
    }

    /// What tells that a paused Space runs again when it has no probe configured: the Hub.
    private static func wakeTarget(_ backend: BackendPlan) -> ProbeTarget? {
        if case .space(let space)? = backend.routing.idle?.call { return .hubRuntime(space: space) }
        return nil
    }

    /// A probe's text may quote what a backend said: our secrets are cut out of it.
    private static func redacted(_ verdict: ProbeVerdict, _ redactor: SecretRedactor) -> ProbeVerdict {
        if case .down(let why) = verdict { return .down(redactor.redact(why)) }
        return verdict
    }

    // MARK: - Idle

    /// The idle check runs a quarter of `after` apart (between 200 ms and 30 s): a backend
    /// pauses at most a quarter late.
    static func idleTickNs(_ afterNs: UInt64) -> UInt64 {
        min(max(afterNs / 4, 200_000_000), 30_000_000_000)
    }

    private func idleTick(_ index: Int, plan: GatewayPlan) {
        guard plan.backends.indices.contains(index), let idle = plan.backends[index].routing.idle,
              let endpoint = plan.backends[index].routing.endpoint else { return }
        schedule(.idle(index), in: Self.idleTickNs(idle.afterNs))
        let backend = plan.backends[index]
        let runtime = plan.routing.runtimes[index]
        logLifecycle(backend, runtime: runtime)
        // A probe of the box still out could reach it after the pause call and wake it
        // again: the pause waits for the next tick.
        if probes[index] != nil, case .path? = backend.routing.health?.target { return }
        guard idleCalls[index] == nil, runtime.idleTick(nowNs: loop.now) == .pause else { return }
        let generation = self.generation
        let call = IdleCalls.pause(idle.call, endpoint: endpoint, hub: backend.routing.hub, on: backendLoop,
                                   timeoutMs: Self.probeTimeoutMs) { [weak self] result in
            guard let self else { return }
            if generation == self.generation { self.idleCalls[index] = nil }
            switch result {
            case .done:
                let wakeNow = runtime.pauseFinished(ok: true, nowNs: self.loop.now)
                self.logLifecycle(backend, runtime: runtime)
                // A request came while the pause call was out: it needs the backend back.
                if wakeNow, let current = self.plan { self.wake(index, plan: current, alreadyWaking: true) }
            case .failed(let why):
                _ = runtime.pauseFinished(ok: false, nowNs: self.loop.now)
                self.log(Self.event("backend_pause_failed", backend: backend.name,
                                    fields: [("error", .text(plan.redactor.redact(why)))]))
                // Active again: a request that came while the call was out waits in line
                // (`acquire` refuses a pausing Space) and no slot will be freed to call it.
                plan.routing.backendWoke(index)
            }
        }
        idleCalls[index] = (call, runtime, plan.routing)
    }

    /// Logs the pauses and wakes since the last line (a wake may have happened on another
    /// loop, or on a request's path), each with what the backend would have billed meanwhile.
    private func logLifecycle(_ backend: BackendPlan, runtime: BackendRuntime) {
        guard let figures = runtime.lifecycleFigures(nowNs: loop.now) else { return }
        let last = logged[backend.name] ?? (0, 0, 0)
        guard figures.pauses != last.pauses || figures.wakes != last.wakes else { return }
        if figures.pauses > last.pauses {
            log(Self.event("backend_paused", backend: backend.name, fields: [
                ("action", .text(backend.routing.idle?.call.description ?? "")),
                ("idle_after_s", .number(Double(backend.routing.idle?.afterNs ?? 0) / 1e9)),
                ("pauses", .number(Double(figures.pauses)))]))
        }
        if figures.wakes > last.wakes {
            let pausedNs = figures.pausedNs &- min(last.pausedNs, figures.pausedNs)
            let saved = backend.idleSaved(pausedNs: pausedNs)
            let total = backend.idleSaved(pausedNs: figures.pausedNs)
            log(Self.event("backend_woken", backend: backend.name, fields: [
                ("paused_s", .number(Double(pausedNs) / 1e9)),
                ("idle_saved_usd", .number(Double(saved.value) / 1e6)),
                ("idle_saved_usd_total", .number(Double(total.value) / 1e6)),
                ("wakes", .number(Double(figures.wakes)))]))
        }
        logged[backend.name] = (figures.pauses, figures.wakes, figures.wakes > last.wakes ? figures.pausedNs : last.pausedNs)
    }

    enum Field {
        case text(String)
        case number(Double)
    }

    /// `{"ts":…,"event":…,"backend":…,…}` with JSON escaping.
    static func event(_ name: String, backend: String, fields: [(String, Field)]) -> String {
        var line = "{\"ts\":" + String(Double(Gateway.wallClockMs()) / 1e3) + ",\"event\":" + JSONText.quoted(name)
            + ",\"backend\":" + JSONText.quoted(backend)
        for (key, value) in fields {
            line += "," + JSONText.quoted(key) + ":"
            switch value {
            case .text(let text): line += JSONText.quoted(text)
            case .number(let number): line += number.isFinite ? String(number) : "0"
            }
        }
        return line + "}"
    }
}
