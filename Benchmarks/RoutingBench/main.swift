// SPDX-License-Identifier: Apache-2.0
// `make bench` / `make bench-routing` → the routing decision on its own (issue 12, Measure:
// "routing decision cost per request with 20 backends per model, goal < 2 µs"). Each decision
// builds the 20-candidate snapshot into a reused buffer from per-backend state (circuit,
// run-time and cold-start estimates, in-flight counts that change every decision), then runs
// Router.pick over it; a second figure times Router.pick alone. No I/O. A third figure is the
// gateway's whole per-request routing work (TollgateGateway.RoutingBenchmark: RequestRoute.next
// with the board's snapshot under each runtime's lock, the slot's acquire, the decision log,
// then the attempt's end: expected-run update, BackendRuntime.finish, slotFreed).
//
//   tollgate-routing-bench [SECONDS]     (default 2 per figure)
import Glibc
import TollgateCore
import TollgateGateway
import TollgateRouting

func monotonicNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// What the gateway's board keeps per backend, in the shape the snapshot is built from.
struct BackendState {
    var costModel: CostModel
    var maxConcurrency: Int
    var inFlight: Int
    var runTime: RunTimeEstimate
    var coldStartMs: Int64
    var coldStart: ColdStartEstimate
    var lastUsedNs: UInt64?
    var circuit: CircuitBreaker
    var pausedWakeMs: Int64?
}

let seconds = CommandLine.arguments.count > 1 ? max(Double(CommandLine.arguments[1]) ?? 2, 0.1) : 2
let count = 20
let s: UInt64 = 1_000_000_000
let start = monotonicNs()
var rng = SplitMix64(seed: 12)

// 2 always-on boxes, 12 per-second platforms with cold starts, 6 per-request platforms; two
// circuits open, one backend paused by its idle action.
var backends: [BackendState] = (0..<count).map { i in
    let model: CostModel
    switch i {
    case 0, 1: model = .alwaysOn(perHour: MicroDollars(400_000))
    case 2..<14: model = .perSecond(perSecond: MicroDollars(150 + Int64(i) * 10), roundUpMs: i % 3 == 0 ? 1_000 : nil)
    default: model = .perRequest(MicroDollars(2_000 + Int64(i) * 100))
    }
    var circuit = CircuitBreaker(failureThreshold: 3, cooldownNs: 10 * s, maxCooldownNs: 300 * s)
    if i == 5 || i == 9 {
        for _ in 0..<3 { circuit.recordFailure(now: start) }
    }
    var run = RunTimeEstimate(priorMs: 1_000)
    run.seed(meanMs: 800 + Int64(i) * 150, count: 50)
    var cold = ColdStartEstimate(coldAfterPriorMs: 300_000)
    cold.observe(gapMs: 60_000 + Int64(i) * 1_000, cold: false)
    return BackendState(costModel: model, maxConcurrency: i < 2 ? 4 : 16, inFlight: 0, runTime: run,
                        coldStartMs: i >= 2 && i < 14 ? 20_000 : 0, coldStart: cold,
                        lastUsedNs: i % 4 == 0 ? nil : start - UInt64(i) * 10 * s, circuit: circuit,
                        pausedWakeMs: i == 1 ? 60_000 : nil)
}

let buffer = UnsafeMutableBufferPointer<RoutingCandidate>.allocate(capacity: count)
buffer.initialize(repeating: RoutingCandidate(costModel: .free, maxConcurrency: 1, inFlight: 0, expectedRunMs: 0,
                                              coldStartMs: 0, pCold: 0))
defer { buffer.deallocate() }

/// The per-request snapshot: what M's exchange does before each decision.
@inline(never)
func buildSnapshot(_ backends: UnsafeBufferPointer<BackendState>, into buffer: UnsafeMutableBufferPointer<RoutingCandidate>,
                   nowNs: UInt64) {
    for (i, b) in zip(buffer.indices, backends) {
        var availability = b.circuit.availability(now: nowNs)
        if availability == .ready, let wake = b.pausedWakeMs { availability = .paused(wakeMs: wake) }
        let gapMs: Int64? = b.lastUsedNs.map { Int64(clamping: (nowNs &- $0) / 1_000_000) }
        buffer[i] = RoutingCandidate(costModel: b.costModel, maxConcurrency: b.maxConcurrency, inFlight: b.inFlight,
                                     expectedRunMs: b.runTime.valueMs, coldStartMs: b.coldStartMs,
                                     pCold: b.coldStart.probability(gapMs: gapMs, probe: nil), availability: availability)
    }
}

@inline(never)
func decide(_ buffer: UnsafeBufferPointer<RoutingCandidate>, nowNs: UInt64) -> RoutePick {
    Router.pick(buffer, maxLatencyMs: 30_000, nowNs: nowNs)
}

/// Runs `body` in batches until `seconds` have passed; ns per call.
func measure(_ body: (Int) -> Int) -> (nsPerCall: Double, calls: Int, checksum: Int) {
    var calls = 0
    var checksum = 0
    let began = monotonicNs()
    let budget = UInt64(seconds * 1e9)
    while monotonicNs() - began < budget {
        for _ in 0..<10_000 { checksum &+= body(calls); calls += 1 }
    }
    return (Double(monotonicNs() - began) / Double(calls), calls, checksum)
}

func position(_ pick: RoutePick) -> Int {
    switch pick {
    case .candidate(let p, let forced, let wake): return p &+ (forced ? 100 : 0) &+ (wake ?? 0) &* 1_000
    case .wait: return -1
    case .none: return -2
    }
}

// The load moves every decision so neither the snapshot nor the pick is the same twice: the
// always-on boxes fill and empty, the platforms' in-flight counts wander.
let withSnapshot = backends.withUnsafeMutableBufferPointer { states in
    measure { n in
        let r = rng.next()
        states[Int(r % UInt64(count))].inFlight = Int((r >> 8) % 5)
        let now = start &+ UInt64(n) &* 1_000
        buildSnapshot(UnsafeBufferPointer(states), into: buffer, nowNs: now)
        return position(decide(UnsafeBufferPointer(buffer), nowNs: now))
    }
}
let pickOnly = measure { n in
    let r = rng.next()
    buffer[Int(r % UInt64(count))].inFlight = Int((r >> 8) % 5)
    return position(decide(UnsafeBufferPointer(buffer), nowNs: start &+ UInt64(n) &* 1_000))
}

func fixed(_ x: Double) -> String {
    let tenths = Int((x * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

let gateway = RoutingBenchmark.run(candidates: count, seconds: seconds)

print("routing: \(count) candidates, snapshot + Router.pick: \(fixed(withSnapshot.nsPerCall)) ns/decision "
    + "(\(withSnapshot.calls) decisions), Router.pick alone: \(fixed(pickOnly.nsPerCall)) ns/decision "
    + "(\(pickOnly.calls)); goal < 2000 ns [checksum \(withSnapshot.checksum &+ pickOnly.checksum)]")
print("routing: \(count) candidates, gateway per-request routing (RequestRoute.next + finish, decision log): "
    + "\(fixed(gateway.nsPerDecision)) ns/decision (\(gateway.decisions) decisions, \(gateway.picked) picked); "
    + "goal < 2000 ns [checksum \(gateway.checksum)]")
