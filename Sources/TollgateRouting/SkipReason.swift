// SPDX-License-Identifier: Apache-2.0
// Why the router passed over a candidate: the per-candidate reasons of SPEC §3's 503
// `no_backend_available` and of /admin/backends' last decisions.

public enum SkipReason: Sendable, Equatable {
    case tried
    case full(inFlight: Int, max: Int)
    case tooSlow(expectedMs: Int64, maxMs: Int64)
    case circuitOpen(untilNs: UInt64)
    case halfOpenBusy
    case unavailable
}
