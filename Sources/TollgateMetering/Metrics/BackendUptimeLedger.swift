// SPDX-License-Identifier: Apache-2.0
// How long each always-on backend has been configured in this run of the gateway: what
// `tollgate_backend_billed_usd_total` grows by every second, idle included (issue 9 item 2).
// One segment per backend from start (or the reload that added it) to the reload that
// removed or repriced it. Touched at start, on reload and at scrape only — never per request —
// so a mutex is fine here.
import Synchronization
public import TollgateCore

public final class BackendUptimeLedger: Sendable {
    private struct Segment {
        var backend: String
        var perHour: MicroDollars
        var startMs: Int64
        var endMs: Int64?
    }

    private let segments = Mutex<[Segment]>([])

    public init() {}

    /// The always-on backends configured from `atMs` on (unix milliseconds); the segments open
    /// until now end there, except those of a backend kept at the same price, which run on
    /// (a reload that changes nothing adds nothing: every scrape walks the list). Call at
    /// start and on every reload (with an empty list when none).
    public func begin(_ backends: [(name: String, perHour: MicroDollars)], atMs: Int64) {
        segments.withLock { list in
            var kept: Set<String> = []
            for index in list.indices where list[index].endMs == nil {
                let open = list[index]
                if backends.contains(where: { $0.name == open.backend && $0.perHour == open.perHour }), !kept.contains(open.backend) {
                    kept.insert(open.backend)
                } else {
                    list[index].endMs = atMs
                }
            }
            for backend in backends where !kept.contains(backend.name) {
                list.append(Segment(backend: backend.name, perHour: backend.perHour, startMs: atMs, endMs: nil))
                kept.insert(backend.name)
            }
        }
    }

    /// Segments held (open and closed).
    var segmentCount: Int { segments.withLock { $0.count } }

    /// Uptime cost per backend so far, in total and within `month`, at `nowMs`. Each segment
    /// is rounded up to the micro-dollar on its own, as CostModel bills one stretch of uptime.
    public func costs(nowMs: Int64, month: UTCMonth) -> (total: [String: MicroDollars], month: [String: MicroDollars]) {
        segments.withLock { list in
            var total: [String: MicroDollars] = [:]
            var inMonth: [String: MicroDollars] = [:]
            for segment in list {
                let end = min(segment.endMs ?? nowMs, nowMs)
                let model = CostModel.alwaysOn(perHour: segment.perHour)
                total[segment.backend, default: .zero] += model.uptimeCost(milliseconds: end - segment.startMs)
                let from = max(segment.startMs, month.startMs)
                let to = min(end, month.endMs)
                inMonth[segment.backend, default: .zero] += model.uptimeCost(milliseconds: to - from)
            }
            return (total, inMonth)
        }
    }
}
