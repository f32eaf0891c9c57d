// SPDX-License-Identifier: Apache-2.0
// Issue 12, Measure: "routing decision cost per request with 20 backends per model (goal
// < 2 µs)", with the gateway's own per-request work around Router.pick — the one entry point
// `tollgate-routing-bench` needs into this module's internal types. Each decision is what an
// exchange does for one request that is answered: a new RequestRoute, `next` (the board's
// snapshot of every candidate under its runtime's lock, the expected runs' atomic reads,
// Router.pick, the slot's acquire, the decision log's record), then the end of the attempt
// (the idle gap `acquire` read, the expected run's update, `finish`, `slotFreed`). No I/O, no loop, no thread;
// a simulated monotonic clock (1 µs per decision) and the real wall clock the log records.
import CLinux
import TollgateBackends
import TollgateCore
import TollgateRouting

public enum RoutingBenchmark {
    public struct Result: Sendable {
        public var nsPerDecision: Double
        public var decisions: Int
        /// Every decision's outcome folded in, printed so the work cannot be optimised away.
        public var checksum: Int
        /// Decisions that picked a backend (the others waited or were refused).
        public var picked: Int
    }

    /// Runs decisions for about `seconds` over one model with `candidates` backends: 2
    /// always-on boxes (4 slots each), per-second platforms with cold starts, per-request
    /// platforms (every 3rd of the rest), all different prices; two circuits open at the start
    /// (their cooldown is over after 10 s of simulated time, then they are tried and recover),
    /// `max_latency` 30 s. Up to `held` requests stay in flight (released oldest first), so the
    /// always-on boxes fill and the pick spills to the platforms.
    public static func run(candidates: Int = 20, seconds: Double = 2, held: Int = 10) -> Result {
        let count = max(1, candidates)
        let second: UInt64 = 1_000_000_000
        let kind = SimulatedKind(options: SimulatedBackendOptions(name: "bench"))
        let backends: [BackendPlan] = (0..<count).map { i in
            let cost: CostModel
            var coldStartMs: Int64 = 0
            switch i {
            case 0, 1:
                cost = .alwaysOn(perHour: MicroDollars(400_000 + Int64(i) * 10_000))
            case _ where i % 3 == 2:
                cost = .perRequest(MicroDollars(2_000 + Int64(i) * 100))
            default:
                cost = .perSecond(perSecond: MicroDollars(150 + Int64(i) * 10), roundUpMs: i % 4 == 0 ? 1_000 : nil)
                coldStartMs = 20_000
            }
            return BackendPlan(name: "backend-\(i)", kind: kind, upstreamModel: nil, firstByteTimeoutNs: 30 * second,
                               costModel: cost, expectedRunMs: 800 + Int64(i) * 150,
                               routing: BackendRouting(maxConcurrency: i < 2 ? 4 : 16, coldStartMs: coldStartMs),
                               kindName: "openai")
        }
        let model = ModelPlan(name: "bench-model", task: .chat, backends: Array(0..<count), attempts: 3,
                              maxLatencyMs: 30_000)
        let start: UInt64 = 1_000 * second
        let tables = BackendBoard().bind(backends: backends, models: [model], nowNs: start)
        let routing = tables.models[0]
        for i in [5, 9] where i < count {
            for _ in 0..<3 where tables.runtimes[i].acquire(nowNs: start, forced: false) {
                tables.runtimes[i].finish(nowNs: start, verdict: .failure("HTTP 502"), cold: nil)
            }
        }

        var scratch = RouteScratch()
        // Requests in flight: (backend index, position, idle gap at its start, started at).
        let ring = max(1, held)
        var inFlight: [(index: Int, position: Int, gap: Int64?, startedNs: UInt64)?] = Array(repeating: nil, count: ring)
        var result = Result(nsPerDecision: 0, decisions: 0, checksum: 0, picked: 0)
        var now = start
        let budget = UInt64(max(seconds, 0.01) * 1e9)
        let began = tg_monotonic_ns()

        func end(_ slot: Int) {
            guard let held = inFlight[slot] else { return }
            inFlight[slot] = nil
            // A run that went well teaches the expected run; the slot goes back (ProxyExchange
            // endAttempt → releaseSlot).
            routing.runs[held.position].record(sampleMs: 700 + Int64(held.index) * 100)
            let cold = held.gap.map { (gapMs: $0, cold: false) }
            tables.runtimes[held.index].finish(nowNs: now, verdict: .success, cold: cold)
            tables.slotFreed(held.index)
        }

        while tg_monotonic_ns() &- began < budget {
            for _ in 0..<1_000 {
                now &+= 1_000
                let slot = result.decisions % ring
                end(slot)
                var route = RequestRoute(model: model, routing: routing, tables: tables, backends: backends, nowNs: now)
                let next = route.next(nowNs: now, wallMs: Gateway.wallClockMs(), scratch: &scratch)
                switch next {
                case .backend(let index, let wake):
                    let gap = route.idleGapMs
                    inFlight[slot] = (index, route.currentPosition ?? 0, gap, now)
                    result.picked &+= 1
                    result.checksum &+= index &+ (wake ?? 0) &* 1_000
                case .wait: result.checksum &+= -1
                case .wakeAndWait(let index): result.checksum &+= -index
                case .refuse(let reasons): result.checksum &+= -reasons.count
                }
                result.decisions &+= 1
            }
        }
        let elapsed = tg_monotonic_ns() &- began
        for slot in 0..<ring { end(slot) }
        result.nsPerDecision = Double(elapsed) / Double(max(result.decisions, 1))
        return result
    }
}
