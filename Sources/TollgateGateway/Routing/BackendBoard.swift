// SPDX-License-Identifier: Apache-2.0
// The router's live state for the whole process: one BackendRuntime per backend, one expected
// run per (backend, model), one wait line and one decision log per model — kept by name across
// reloads, so a reload neither forgets a cool-down or an open circuit nor lets requests in
// flight on the old plan escape `max_concurrency`. Each plan binds to it once (`bind`) and
// keeps the result, indexed as the plan is, so the hot path does no lookup by name.
import CLinux
import Synchronization
import TollgateCore
import TollgateRouting

public final class BackendBoard: Sendable {
    private struct Tables {
        var runtimes: [String: BackendRuntime] = [:]
        var runs: [RunKey: RunEstimateCell] = [:]
        var queues: [String: ModelWaitQueue] = [:]
        var decisions: [String: DecisionLog] = [:]
    }

    private struct RunKey: Hashable {
        let backend: String
        let model: String
    }

    private let tables = Mutex(Tables())
    /// Requests waiting in any line: a slot freed while none waits costs one atomic load.
    let waiting = Atomic<Int>(0)
    /// Turns which model's line a backend shared by several models calls first.
    let turn = Atomic<Int>(0)

    public init() {}

    /// The plan's view of the board: its backends' runtimes, and per model its candidates'
    /// run estimates, its line and its log. Backends and models the plan no longer has are
    /// kept (a request on the old plan may still release a slot); they cost a few objects.
    func bind(backends: [BackendPlan], models: [ModelPlan], nowNs: UInt64 = tg_monotonic_ns()) -> RoutingTables {
        tables.withLock { t in
            let runtimes = backends.map { backend -> BackendRuntime in
                if let existing = t.runtimes[backend.name] {
                    existing.apply(backend.routing, nowNs: nowNs)
                    return existing
                }
                let made = BackendRuntime(name: backend.name, routing: backend.routing, nowNs: nowNs)
                t.runtimes[backend.name] = made
                return made
            }
            var queuesOfBackend = Array(repeating: [ModelWaitQueue](), count: backends.count)
            let modelTables = models.map { model -> ModelRouting in
                let cells = model.backends.map { index -> RunEstimateCell in
                    guard backends.indices.contains(index) else { return RunEstimateCell(priorMs: 0) }
                    let key = RunKey(backend: backends[index].name, model: model.name)
                    if let cell = t.runs[key] { return cell }
                    let cell = RunEstimateCell(priorMs: backends[index].expectedRunMs)
                    t.runs[key] = cell
                    return cell
                }
                let capacity = Self.queueCapacity(model, backends: backends)
                let queue: ModelWaitQueue
                if let existing = t.queues[model.name] {
                    // Resized in place: a new line would strand who waits in the old one.
                    existing.resize(capacity)
                    queue = existing
                } else {
                    queue = ModelWaitQueue(capacity: capacity, board: self)
                    t.queues[model.name] = queue
                }
                for index in Set(model.backends) where queuesOfBackend.indices.contains(index) {
                    queuesOfBackend[index].append(queue)
                }
                let log = t.decisions[model.name] ?? DecisionLog()
                t.decisions[model.name] = log
                var longest: UInt64 = 0
                for index in model.backends where backends.indices.contains(index) {
                    longest = max(longest, backends[index].routing.timeoutNs)
                }
                return ModelRouting(runs: cells, queue: queue, decisions: log, deadlineSpanNs: longest)
            }
            return RoutingTables(board: self, runtimes: runtimes, models: modelTables, queuesOfBackend: queuesOfBackend)
        }
    }

    /// Seeds the expected runs from the usage log's recent means (start-up, before listening).
    func seed(backend: String, model: String, meanMs: Int64, count: Int) {
        let cell = tables.withLock { $0.runs[RunKey(backend: backend, model: model)] }
        cell?.seed(meanMs: meanMs, count: count)
    }

    /// A line long enough for a burst of every candidate's slots four times over, and bounded.
    static func queueCapacity(_ model: ModelPlan, backends: [BackendPlan]) -> Int {
        var slots = 0
        for index in model.backends where backends.indices.contains(index) {
            slots = slots &+ backends[index].routing.maxConcurrency
        }
        return min(max(64, slots &* 4), 4_096)
    }
}

/// A plan's binding to the board (BackendBoard.bind), indexed like the plan.
struct RoutingTables: Sendable {
    let board: BackendBoard
    /// By backend index.
    let runtimes: [BackendRuntime]
    /// By model index.
    let models: [ModelRouting]
    /// By backend index: the lines of the models that may use it, called when it frees a slot.
    let queuesOfBackend: [[ModelWaitQueue]]

    /// Backend `index` woke from its idle pause: as many waiting requests as it has slots
    /// are called to try again.
    func backendWoke(_ index: Int) {
        guard runtimes.indices.contains(index) else { return }
        for _ in 0..<runtimes[index].maxConcurrency { slotFreed(index) }
    }

    /// Backend `index` gave a slot back: the first waiting request of a model it serves is
    /// called to try again.
    func slotFreed(_ index: Int) {
        guard board.waiting.load(ordering: .relaxed) > 0, queuesOfBackend.indices.contains(index) else { return }
        // A backend several models share calls their lines in turn, so one busy model's line
        // does not take every slot it frees.
        let queues = queuesOfBackend[index]
        guard !queues.isEmpty else { return }
        let start = board.turn.wrappingAdd(1, ordering: .relaxed).oldValue
        let name = runtimes.indices.contains(index) ? runtimes[index].name : nil
        for offset in 0..<queues.count {
            let queue = queues[((start &+ offset) & Int.max) % queues.count]
            if queue.waiting > 0, queue.wakeOne(for: name) { return }
        }
    }
}

/// One model's routing state: its candidates' expected runs (by position in
/// `ModelPlan.backends`), its wait line and its decision log.
struct ModelRouting: Sendable {
    let runs: [RunEstimateCell]
    let queue: ModelWaitQueue
    let decisions: DecisionLog
    /// How long a request may keep failing over: the longest `timeout` of the candidates.
    let deadlineSpanNs: UInt64
}
