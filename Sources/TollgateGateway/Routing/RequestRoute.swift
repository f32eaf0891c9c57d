// SPDX-License-Identifier: Apache-2.0
// One request's way through its model's candidates (SPEC §3, §4): at each attempt the board's
// live state is read into router candidates, TollgateRouting's pure `Router.pick` decides,
// and the winner's slot (and half-open trial) is taken. Bounded by the model's `attempts` and
// the request's deadline (dispatch + the longest `timeout` of its candidates); a tried
// candidate is never picked again. Every decision goes to the model's log with each
// candidate's inputs (`GET /admin/backends`). A value inside the exchange; loop-confined.
import TollgateCore
import TollgateRouting

struct RequestRoute {
    enum Next: Equatable {
        /// Attempt backend `index` (the plan's), its slot taken. `wake`: a paused backend
        /// (plan index) that would have been cheaper: start waking it.
        case backend(index: Int, wake: Int?)
        /// Every candidate that could take it is full: wait for a slot.
        case wait
        /// The best candidate is paused (its idle action): wake backend `index` (the plan's)
        /// and wait for it, or for a slot elsewhere.
        case wakeAndWait(index: Int)
        /// Nothing can take it; each skipped candidate's reason.
        case refuse([String])
    }

    let model: ModelPlan
    let routing: ModelRouting
    private let tables: RoutingTables
    private let backends: [BackendPlan]
    /// By position in `model.backends`.
    private var tried: CandidateMarks
    private(set) var attemptsMade = 0
    let deadlineNs: UInt64
    /// The position of the candidate the current attempt runs on.
    private(set) var currentPosition: Int?
    /// How long that backend had been idle before the current attempt took it (nil: never
    /// used since start), for the cold-start estimate.
    private(set) var idleGapMs: Int64?

    init(model: ModelPlan, routing: ModelRouting, tables: RoutingTables, backends: [BackendPlan], nowNs: UInt64) {
        self.model = model
        self.routing = routing
        self.tables = tables
        self.backends = backends
        tried = CandidateMarks(count: model.backends.count)
        let (deadline, overflow) = nowNs.addingReportingOverflow(routing.deadlineSpanNs)
        deadlineNs = overflow ? .max : deadline
    }

    /// Whether another attempt may start at `nowNs` (SPEC §3: bounded by `attempts` and the
    /// request's deadline; a candidate must be left untried).
    func hasAttemptsLeft(nowNs: UInt64) -> Bool {
        attemptsMade < max(1, model.attempts) && nowNs < deadlineNs && tried.hasUnmarked
    }

    /// The backend (plan index) the router would send this request to now, without taking
    /// its slot or logging; nil when it would wait or refuse. The rare path of the wait line:
    /// a request joining it says which backend it saw free, so the first waiter that can use
    /// that backend is called for it.
    func wouldPick(nowNs: UInt64, scratch buffers: inout RouteScratch) -> Int? {
        var details: [String?]?
        snapshot(nowNs: nowNs, buffers: &buffers, details: &details)
        let pick = buffers.candidates.withUnsafeBufferPointer { Router.pick($0, maxLatencyMs: model.maxLatencyMs, nowNs: nowNs) }
        guard case .candidate(let position, _, _) = pick, model.backends.indices.contains(position),
              !Self.isPaused(buffers.candidates[position].availability) else { return nil }
        return model.backends[position]
    }

    /// Logs the decision of a request that queues behind others already waiting (FIFO),
    /// with every candidate's inputs as the router saw them.
    func logQueuedBehind(nowNs: UInt64, wallMs: Int64, scratch buffers: inout RouteScratch) {
        var details: [String?]?
        snapshot(nowNs: nowNs, buffers: &buffers, details: &details)
        log(picked: nil, wallMs: wallMs, nowNs: nowNs, scratch: buffers.candidates, details: details)
    }

    /// The names of the candidates this request tried: a freed slot on one of them is no use
    /// to it (ModelWaitQueue calls the first waiter that can use the slot).
    var triedBackends: [String] {
        var names: [String] = []
        for (position, index) in model.backends.enumerated() where tried[position] && backends.indices.contains(index) {
            names.append(backends[index].name)
        }
        return names
    }

    /// Backend `index`'s name (the plan's), for the wait line.
    func backendName(_ index: Int) -> String? {
        backends.indices.contains(index) ? backends[index].name : nil
    }

    /// Whole seconds (at least 1) until the first untried candidate that is out for a stated
    /// time — a cool-down, an open circuit — may be tried again; nil when none is (RFC 9110
    /// §10.2.3 `Retry-After` for the 503).
    func secondsUntilOneIsBack(nowNs: UInt64) -> UInt64? {
        soonestBackNs(nowNs: nowNs).map { max(1, BackendRuntime.seconds($0 - nowNs)) }
    }

    /// When the first untried candidate out for a stated time may be tried again (after
    /// `nowNs`); nil when none is.
    func soonestBackNs(nowNs: UInt64) -> UInt64? {
        var soonest: UInt64?
        for (position, index) in model.backends.enumerated() where !tried[position] && tables.runtimes.indices.contains(index) {
            guard let until = tables.runtimes[index].backAtNs(nowNs: nowNs), until > nowNs else { continue }
            soonest = min(soonest ?? .max, until)
        }
        return soonest
    }

    /// Leaves candidate `index` (the plan's) out of this request without an attempt (its
    /// monthly budget is spent).
    mutating func exclude(backend index: Int) {
        for (position, candidate) in model.backends.enumerated() where candidate == index { tried[position] = true }
    }

    /// The next backend, or why none. `buffers` are the loop's, reused.
    mutating func next(nowNs: UInt64, wallMs: Int64, scratch buffers: inout RouteScratch) -> Next {
        let count = model.backends.count
        // What a skip's words need beside the candidate (nil until some candidate has it).
        var details: [String?]?
        // A candidate whose slot another loop took between the snapshot and `acquire` is read
        // again; each pass either returns or marks one more as taken, so this ends.
        for _ in 0...count {
            snapshot(nowNs: nowNs, buffers: &buffers, details: &details)
            // The pick's input (a paused pick's second look marks it tried in this copy).
            var scratch = buffers.candidates
            let pick = scratch.withUnsafeBufferPointer { Router.pick($0, maxLatencyMs: model.maxLatencyMs, nowNs: nowNs) }
            switch pick {
            case .candidate(let position, let forced, let wake):
                let index = model.backends[position]
                if case .paused(let wakeMs) = scratch[position].availability {
                    // Woken but not waited for when its wake outlasts the wait a request may
                    // make and another candidate can take the request now (issue 12 item 5:
                    // "goes elsewhere while it wakes, or waits for it").
                    if BackendRuntime.milliseconds(model.queueTimeoutNs) < wakeMs {
                        scratch[position].tried = true
                        let other = scratch.withUnsafeBufferPointer { Router.pick($0, maxLatencyMs: model.maxLatencyMs, nowNs: nowNs) }
                        scratch[position].tried = tried[position]
                        if case .candidate(let otherPosition, let forced, _) = other,
                           !Self.isPaused(scratch[otherPosition].availability) {
                            let otherIndex = model.backends[otherPosition]
                            guard tables.runtimes[otherIndex].acquire(nowNs: nowNs, forced: forced, idleGapMs: &idleGapMs) else { continue }
                            tried[otherPosition] = true
                            attemptsMade += 1
                            currentPosition = otherPosition
                            log(picked: otherPosition, wallMs: wallMs, nowNs: nowNs, scratch: scratch, details: details)
                            return .backend(index: otherIndex, wake: index)
                        }
                    }
                    log(picked: position, wallMs: wallMs, nowNs: nowNs, scratch: scratch, details: details)
                    return .wakeAndWait(index: index)
                }
                guard tables.runtimes[index].acquire(nowNs: nowNs, forced: forced, idleGapMs: &idleGapMs) else { continue }
                tried[position] = true
                attemptsMade += 1
                currentPosition = position
                log(picked: position, wallMs: wallMs, nowNs: nowNs, scratch: scratch, details: details)
                return .backend(index: index, wake: wake.map { model.backends[$0] })
            case .wait:
                log(picked: nil, wallMs: wallMs, nowNs: nowNs, scratch: scratch, details: details)
                return .wait
            case .none:
                log(picked: nil, wallMs: wallMs, nowNs: nowNs, scratch: scratch, details: details)
                return .refuse(skipReasons(nowNs: nowNs, scratch: scratch, details: details))
            }
        }
        return .wait
    }

    /// Reads every candidate's live state into `scratch` (by position in `model.backends`)
    /// and what a skip's words need into `details` (allocated only when some candidate is
    /// unavailable or has its circuit open).
    private func snapshot(nowNs: UInt64, buffers: inout RouteScratch, details: inout [String?]?) {
        buffers.candidates.removeAll(keepingCapacity: true)
        details = nil
        let count = model.backends.count
        if buffers.facts.count < backends.count {
            buffers.facts.append(contentsOf: repeatElement(nil, count: backends.count - buffers.facts.count))
        }
        for (position, index) in model.backends.enumerated() {
            guard backends.indices.contains(index), tables.runtimes.indices.contains(index),
                  buffers.facts.indices.contains(index) else {
                buffers.candidates.append(Self.missing)
                continue
            }
            // Fields read in place: a copy of the whole BackendPlan (its kind, names, options)
            // per candidate would cost more than the rest of the read.
            let run = routing.runs.indices.contains(position) ? routing.runs[position].ms : backends[index].expectedRunMs
            buffers.candidates.append(Self.missing)
            let last = buffers.candidates.count - 1
            let detail = tables.runtimes[index].read(
                into: &buffers.candidates[last], costModel: backends[index].costModel, expectedRunMs: run,
                coldStartMs: backends[index].routing.coldStartMs, nowNs: nowNs, cache: &buffers.facts[index])
            buffers.candidates[last].tried = tried[position]
            if let detail {
                if details == nil { details = Array(repeating: nil, count: count) }
                details?[position] = detail
            }
        }
    }

    /// The reasons of the candidates not tried, for the 503 (tried ones have their failure).
    private func skipReasons(nowNs: UInt64, scratch: [RoutingCandidate], details: [String?]?) -> [String] {
        var out: [String] = []
        for (position, candidate) in scratch.enumerated() where !candidate.tried {
            guard model.backends.indices.contains(position), backends.indices.contains(model.backends[position]) else { continue }
            let index = model.backends[position]
            guard let skip = Router.skipReason(candidate, maxLatencyMs: model.maxLatencyMs, nowNs: nowNs) else {
                // Pickable for the router, yet not taking requests: paused, pausing or waking.
                if tables.runtimes.indices.contains(index), let idle = tables.runtimes[index].idleReason(nowNs: nowNs) {
                    out.append("\(backends[index].name): \(idle)")
                }
                continue
            }
            let detail = details.flatMap { $0.indices.contains(position) ? $0[position] : nil }
            out.append("\(backends[index].name): " + Self.text(skip, nowNs: nowNs, detail: detail))
        }
        return out
    }

    /// Each candidate's reason for not taking a request now (the 503 after a wait in line).
    mutating func currentReasons(nowNs: UInt64, scratch buffers: inout RouteScratch) -> [String] {
        var details: [String?]?
        snapshot(nowNs: nowNs, buffers: &buffers, details: &details)
        return skipReasons(nowNs: nowNs, scratch: buffers.candidates, details: details)
    }

    static func text(_ skip: SkipReason, nowNs: UInt64, detail: String?) -> String {
        switch skip {
        case .tried: return "already tried"
        case .full(let inFlight, let max): return "full (\(inFlight)/\(max) in flight)"
        case .tooSlow(let expected, let maxMs):
            return "expected \(Self.seconds(ms: expected)) exceeds max_latency \(Self.seconds(ms: maxMs))"
        case .circuitOpen(let until): return BackendRuntime.circuitReason(untilNs: until, nowNs: nowNs, lastFailure: detail)
        case .halfOpenBusy: return "circuit half-open, its trial request is running"
        case .unavailable: return detail ?? "unavailable"
        }
    }

    /// `1.5s`, `30s`: milliseconds as seconds with at most one decimal.
    static func seconds(ms: Int64) -> String {
        let tenths = ms / 100
        return tenths % 10 == 0 ? "\(tenths / 10)s" : "\(tenths / 10).\(tenths % 10)s"
    }

    /// Records the decision in the model's log: a copy of the snapshot (the loop's buffer
    /// stays its own), the rest references.
    private func log(picked: Int?, wallMs: Int64, nowNs: UInt64, scratch: [RoutingCandidate], details: [String?]?) {
        scratch.withUnsafeBufferPointer { seen in
            routing.decisions.record(atUnixMs: wallMs, model: model.name, atNs: nowNs, maxLatencyMs: model.maxLatencyMs,
                                     picked: picked, seen: seen, details: details, backends: backends, indices: model.backends)
        }
    }

    private static func isPaused(_ availability: Availability) -> Bool {
        if case .paused = availability { return true }
        return false
    }

    /// A plan index the plan does not hold (never built so; answered, never trapped on).
    private static let missing = RoutingCandidate(costModel: .free, maxConcurrency: 1, inFlight: 0, expectedRunMs: 0,
                                                  coldStartMs: 0, pCold: 0, availability: .unavailable, tried: true)
}
