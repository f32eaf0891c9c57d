// SPDX-License-Identifier: Apache-2.0
// One loop's buffers for its routing decisions (RequestRoute), reused by every request: the
// candidate snapshot, and what the loop last read of each backend with the version it read
// (BackendRuntime.read): a backend nothing changed since is read again without its lock, so
// the backends a decision does not pick cost no write to memory another loop uses.
import TollgateRouting

struct RouteScratch {
    var candidates: [RoutingCandidate] = []
    /// By plan backend index (an entry names its runtime: a reload's plan may index others).
    var facts: [BackendRuntime.CachedFacts?] = []
}
