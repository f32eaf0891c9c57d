// SPDX-License-Identifier: Apache-2.0
// How a call to a backend ended, in the terms of SPEC §3's outcome table. The transport's own
// outcomes (what libcurl can tell) come first; the job-based kinds (RunPod, Replicate, Modal,
// Gradio queues) add two that only their APIs can state: the platform refused for quota until
// a known time, and the job ran and failed.
public import TollgateUpstream

public enum BackendOutcome: Equatable, Sendable, CustomStringConvertible {
    /// The response arrived in full.
    case completed
    /// Could not connect: refused, unreachable, DNS.
    case connectFailed(String)
    /// TLS handshake or certificate problem.
    case tlsFailed(String)
    /// A timeout fired (connect or total).
    case timedOut(String)
    /// The connection broke mid-way (reset, truncated body, protocol error).
    case broken(String)
    /// The response exceeded the backend's `max_response`.
    case tooLarge
    /// We cancelled it (client gone, failover, deadline).
    case cancelled
    /// The platform refused the call for quota (ZeroGPU's daily minutes, a hosted API's
    /// monthly cap). `until`, when the platform states it, is when the quota resets, on the
    /// loop's monotonic clock (`EventLoop.now`, nanoseconds): SPEC §3 cools the backend down
    /// until then, like a 429's Retry-After.
    case quotaExhausted(String, until: UInt64?)
    /// A job was accepted and then failed on the platform (RunPod FAILED, Replicate `failed`):
    /// the backend's fault, like a 5xx.
    case jobFailed(String)

    /// The transport's outcome, as the backend's.
    public init(_ transport: UpstreamOutcome) {
        switch transport {
        case .completed: self = .completed
        case .connectFailed(let m): self = .connectFailed(m)
        case .tlsFailed(let m): self = .tlsFailed(m)
        case .timedOut(let m): self = .timedOut(m)
        case .broken(let m): self = .broken(m)
        case .tooLarge: self = .tooLarge
        case .cancelled: self = .cancelled
        }
    }

    public var description: String {
        switch self {
        case .quotaExhausted(let m, _): return "quota exhausted: \(m)"
        case .jobFailed(let m): return "job failed: \(m)"
        case .completed: return UpstreamOutcome.completed.description
        case .connectFailed(let m): return UpstreamOutcome.connectFailed(m).description
        case .tlsFailed(let m): return UpstreamOutcome.tlsFailed(m).description
        case .timedOut(let m): return UpstreamOutcome.timedOut(m).description
        case .broken(let m): return UpstreamOutcome.broken(m).description
        case .tooLarge: return UpstreamOutcome.tooLarge.description
        case .cancelled: return UpstreamOutcome.cancelled.description
        }
    }
}
