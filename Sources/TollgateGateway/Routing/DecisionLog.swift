// SPDX-License-Identifier: Apache-2.0
// The last routing decisions of one model, with every candidate's inputs, so
// `GET /admin/backends` can explain why a request went where it went (issue 12 item 1). A
// fixed ring: one short lock per decision, nothing grows.
import Synchronization
import TollgateCore
import TollgateRouting

final class DecisionLog: Sendable {
    /// One candidate as the router saw it.
    struct Candidate: Sendable {
        var backend: String
        var expectedCost: MicroDollars
        var expectedLatencyMs: Int64
        var pCold: Double
        var inFlight: Int
        var picked: Bool
        /// Why it was not picked (nil: picked, or a cheaper one won).
        var skip: String?
    }

    /// One decision, as the router saw it: the candidates' values themselves (a copy of the
    /// snapshot), with what their words need. A decision costs one copy of its snapshot; its
    /// figures and skip reasons are worked out, by the same pure functions the router used,
    /// only when the log is read (issue 12: the decision's cost per request).
    struct Entry: Sendable {
        var atUnixMs: Int64
        var model: String
        /// The decision's monotonic time (an open circuit's "open for" counts from it).
        var atNs: UInt64
        var maxLatencyMs: Int64?
        /// The position picked (nil: none).
        var picked: Int?
        /// By position in the model's candidates (`indices`).
        var seen: [RoutingCandidate]
        /// By position: the `.unavailable` reason or an open circuit's last failure; nil when
        /// no candidate had one.
        var details: [String?]?
        /// The plan's backends and the model's candidates (plan indices), for their names.
        var backends: [BackendPlan]
        var indices: [Int]

        /// Every candidate the plan holds, in the model's order.
        var candidates: [Candidate] {
            var out: [Candidate] = []
            for (position, candidate) in seen.enumerated() where indices.indices.contains(position) {
                guard backends.indices.contains(indices[position]) else { continue }
                let detail = details.flatMap { $0.indices.contains(position) ? $0[position] : nil }
                out.append(Candidate(
                    backend: backends[indices[position]].name, expectedCost: candidate.expectedCost,
                    expectedLatencyMs: candidate.expectedLatencyMs, pCold: candidate.pCold, inFlight: candidate.inFlight,
                    picked: position == picked,
                    // The pick has no reason against it, even a forced trial through its open circuit.
                    skip: position == picked ? nil : Router.skipReason(candidate, maxLatencyMs: maxLatencyMs, nowNs: atNs)
                        .map { RequestRoute.text($0, nowNs: atNs, detail: detail) }))
            }
            return out
        }
    }

    static let capacity = 16
    private struct Ring {
        var entries: [Entry] = []
        var next = 0
    }
    private let ring = Mutex(Ring())

    /// Records a decision from the router's buffer: once the ring is full, the snapshot is
    /// copied into the array of the entry it replaces (no allocation per decision).
    func record(atUnixMs: Int64, model: String, atNs: UInt64, maxLatencyMs: Int64?, picked: Int?,
                seen: UnsafeBufferPointer<RoutingCandidate>, details: [String?]?, backends: [BackendPlan], indices: [Int]) {
        ring.withLock { r in
            guard r.entries.count == Self.capacity else {
                r.entries.append(Entry(atUnixMs: atUnixMs, model: model, atNs: atNs, maxLatencyMs: maxLatencyMs, picked: picked,
                                       seen: Array(seen), details: details, backends: backends, indices: indices))
                r.next = r.entries.count % Self.capacity
                return
            }
            let slot = r.next
            r.entries[slot].atUnixMs = atUnixMs
            r.entries[slot].model = model
            r.entries[slot].atNs = atNs
            r.entries[slot].maxLatencyMs = maxLatencyMs
            r.entries[slot].picked = picked
            r.entries[slot].seen.removeAll(keepingCapacity: true)
            r.entries[slot].seen.append(contentsOf: seen)
            r.entries[slot].details = details
            r.entries[slot].backends = backends
            r.entries[slot].indices = indices
            r.next = (slot + 1) % Self.capacity
        }
    }

    /// Oldest first.
    func entries() -> [Entry] {
        ring.withLock { r in
            guard r.entries.count == Self.capacity else { return r.entries }
            return Array(r.entries[r.next...] + r.entries[..<r.next])
        }
    }
}
