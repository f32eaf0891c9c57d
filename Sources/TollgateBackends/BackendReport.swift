// SPDX-License-Identifier: Apache-2.0
// What an adapter knows when a call ends, as one value: how it ended, the tokens, and the time
// facts the meter prices (SPEC §4). Job-based backends bill from their own figures (RunPod's
// executionTime and delayTime, Replicate's metrics.predict_time), which a wall clock at the
// gateway cannot see; a pass-through adapter leaves them nil and the gateway measures.
public import TollgateCore

/// GPU time for one call, and whose figure it is.
public enum GPUTime: Equatable, Sendable {
    /// The backend's own bill (RunPod `executionTime`, Replicate `predict_time`).
    case reported(MilliGPUSeconds)
    /// Timed by the adapter where the gateway's clock would be wrong (e.g. a job's run without
    /// its time in the queue).
    case measured(MilliGPUSeconds)

    public var value: MilliGPUSeconds {
        switch self {
        case .reported(let t), .measured(let t): return t
        }
    }
}

public struct BackendReport: Equatable, Sendable {
    public var outcome: BackendOutcome
    /// Tokens the backend reported (nil counts when it did not say).
    public var tokens: TokenUsage
    /// The call's GPU time when the adapter knows it; nil: the gateway times the attempt, from
    /// its start to this report.
    public var gpuTime: GPUTime?
    /// Time the call waited in the platform's queue before a worker took it (not billed by
    /// per-second platforms, reported for the log and the router's estimates).
    public var queueTime: Duration?
    /// The call waited for the backend to start (scale from zero, a Space waking up).
    public var coldStart: Bool
    /// How long that start took, when the backend or the adapter can tell.
    public var coldStartTime: Duration?

    public init(outcome: BackendOutcome, tokens: TokenUsage = TokenUsage(), gpuTime: GPUTime? = nil,
                queueTime: Duration? = nil, coldStart: Bool = false, coldStartTime: Duration? = nil) {
        self.outcome = outcome
        self.tokens = tokens
        self.gpuTime = gpuTime
        self.queueTime = queueTime
        self.coldStart = coldStart || coldStartTime != nil
        self.coldStartTime = coldStartTime
    }
}
