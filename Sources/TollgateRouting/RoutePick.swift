// SPDX-License-Identifier: Apache-2.0
// The router's answer for one request (SPEC §4 "Cheapest", §3 failover and queueing).

public enum RoutePick: Sendable, Equatable {
    /// Send to candidates[position]. `forcedTrial`: every candidate's circuit is open and this
    /// is the least recently failed one (issue 12 item 3). `wake`: position of a paused
    /// candidate that is strictly cheaper than the pick (the caller starts waking it while this
    /// request goes elsewhere); nil if none.
    case candidate(position: Int, forcedTrial: Bool, wake: Int?)
    /// Every remaining candidate that could take it is full: wait (FIFO, `queue_timeout`).
    case wait
    /// Nothing can take it; `Router.skipReason` explains each candidate.
    case none
}
