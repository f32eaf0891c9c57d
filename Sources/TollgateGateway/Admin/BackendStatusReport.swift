// SPDX-License-Identifier: Apache-2.0
// `GET /admin/backends`'s rows, read from the plan and the shared board at the request: each
// backend's state, load, estimates, circuit, reason, probe, idle lifecycle and its part in
// the last routing decisions of the models that list it (issue 12 item 1). An operator's
// request, not a hot path: it takes each backend's lock once.
import TollgateBackends
import TollgateCore
import TollgateRouting

enum BackendStatusReport {
    static func rows(_ plan: GatewayPlan, nowNs: UInt64) -> [BackendStatus] {
        // Decisions per backend name, from every model's log, oldest first.
        var decisions: [String: [RoutingDecisionRecord]] = [:]
        var runs: [String: [BackendStatus.ExpectedRun]] = [:]
        for (modelIndex, model) in plan.models.enumerated() {
            guard let routing = plan.modelRouting(modelIndex) else { continue }
            for (position, index) in model.backends.enumerated()
            where plan.backends.indices.contains(index) && routing.runs.indices.contains(position) {
                runs[plan.backends[index].name, default: []].append(.init(model: model.name, ms: routing.runs[position].ms))
            }
            for entry in routing.decisions.entries() {
                for candidate in entry.candidates {
                    decisions[candidate.backend, default: []].append(RoutingDecisionRecord(
                        atUnixMs: entry.atUnixMs, model: entry.model, picked: candidate.picked,
                        expectedCostUSD: Double(candidate.expectedCost.value) / 1e6,
                        expectedLatencyMs: candidate.expectedLatencyMs, pCold: candidate.pCold,
                        inFlight: candidate.inFlight, skip: candidate.skip))
                }
            }
        }
        return plan.backends.enumerated().map { index, backend in
            let runtime = plan.routing.runtimes[index]
            // One copy of the state, read as the router reads it.
            let snapshot = runtime.snapshot()
            let inFlight = runtime.inFlight
            let reading = BackendRuntime.reading(snapshot, inFlight: inFlight, nowNs: nowNs)
            let reason = { () -> String? in
                if case .circuitOpen = reading.availability { return nil }
                return reading.detail
            }()
            var recent = decisions[backend.name] ?? []
            recent.sort { $0.atUnixMs < $1.atUnixMs }
            return BackendStatus(
                name: backend.name, kind: backend.kindName, billing: backend.costModel.billingName,
                state: state(snapshot, candidate: reading.availability, nowNs: nowNs),
                eligible: BackendRuntime.isEligible(reading.availability),
                inFlight: inFlight, maxConcurrency: runtime.maxConcurrency,
                expectedRun: runs[backend.name] ?? [], pCold: reading.pCold, coldAfterMs: snapshot.cold.coldAfterMs,
                circuit: circuit(snapshot.circuit, nowNs: nowNs), reason: reason ?? circuitReason(snapshot, nowNs),
                probe: backend.routing.health.map { probe($0, snapshot, nowNs: nowNs) },
                idle: backend.routing.idle.map { idle($0, snapshot, backend: backend, nowNs: nowNs) },
                lastDecisions: Array(recent.suffix(DecisionLog.capacity)))
        }
    }

    private static func state(_ s: BackendRuntime.State, candidate: Availability, nowNs: UInt64) -> String {
        if let cooldown = s.cooldown, nowNs < cooldown.untilNs {
            return cooldown.cause == .misconfigured ? "misconfigured" : "cooling_down"
        }
        if let idle = s.idle {
            switch idle.state {
            case .paused: return "paused"
            case .waking: return "waking"
            case .active, .pausing: break
            }
        }
        switch s.probe {
        case .down?: return "probe_down"
        case .starting?: return "starting"
        case .paused?: return "paused"
        default: break
        }
        switch candidate {
        case .circuitOpen: return "circuit_open"
        case .halfOpenBusy: return "half_open"
        default: break
        }
        if case .halfOpen = s.circuit.state { return "half_open" }
        return "up"
    }

    private static func circuit(_ c: CircuitBreaker, nowNs: UInt64) -> BackendStatus.Circuit {
        let next = BackendRuntime.milliseconds(c.currentCooldownNs)
        switch c.state {
        case .closed(let failures):
            return .init(state: "closed", consecutiveFailures: failures, openForMs: nil, nextCooldownMs: next)
        case .open(let until):
            let left = BackendRuntime.elapsedMs(from: nowNs, to: until)
            return .init(state: "open", consecutiveFailures: c.consecutiveFailures, openForMs: left, nextCooldownMs: next)
        case .halfOpen:
            return .init(state: "half_open", consecutiveFailures: c.consecutiveFailures, openForMs: nil, nextCooldownMs: next)
        }
    }

    private static func circuitReason(_ s: BackendRuntime.State, _ nowNs: UInt64) -> String? {
        guard case .open(let until) = s.circuit.state, nowNs < until else { return s.lastFailure.map { "last failure: \($0)" } }
        return BackendRuntime.circuitReason(untilNs: until, nowNs: nowNs, lastFailure: s.lastFailure)
    }

    private static func probe(_ health: BackendRouting.Health, _ s: BackendRuntime.State, nowNs: UInt64) -> BackendStatus.Probe {
        let target: String
        switch health.target {
        case .path(let path): target = "GET " + path
        case .runpod: target = "GET /health (RunPod)"
        case .hubRuntime(let space): target = "hub runtime of " + space
        }
        let verdict: String
        switch s.probe {
        case nil: verdict = "not probed yet"
        case .up(let warm)?: verdict = warm.map { $0 ? "up (warm)" : "up (cold)" } ?? "up"
        case .asleep?: verdict = "asleep"
        case .starting?: verdict = "starting"
        case .paused?: verdict = "paused"
        case .down(let why)?: verdict = "down: " + why
        }
        let ago = s.probe == nil ? nil : BackendRuntime.elapsedMs(from: s.probeAtNs, to: nowNs)
        return .init(target: target, verdict: verdict, agoMs: ago)
    }

    private static func idle(_ policy: BackendRouting.Idle, _ s: BackendRuntime.State, backend: BackendPlan,
                             nowNs: UInt64) -> BackendStatus.Idle {
        let lifecycle = s.idle
        let state: String
        switch lifecycle?.state {
        case .active?, nil: state = "active"
        case .pausing?: state = "pausing"
        case .paused?: state = "paused"
        case .waking?: state = "waking"
        }
        let saved = backend.idleSaved(pausedNs: lifecycle?.pausedNs(nowNs: nowNs) ?? 0)
        return .init(state: state, after: BackendRuntime.milliseconds(policy.afterNs), pauses: lifecycle?.pauses ?? 0,
                     wakes: lifecycle?.wakes ?? 0, savedUSD: Double(saved.value) / 1e6)
    }
}
