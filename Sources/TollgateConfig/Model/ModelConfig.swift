// SPDX-License-Identifier: Apache-2.0
public import TollgateCore

/// One entry of `models:`.
public struct ModelConfig: Sendable, Equatable {
    /// The name clients send as "model" (or in `/v1/run/<model>`).
    public let name: String
    public let task: ModelTask
    /// Candidate backend names in config order (ties in cost and latency go to the earlier one).
    public let backends: [String]
    /// Skip candidates expected to be slower; nil = no bound.
    public let maxLatency: Duration?
    /// Candidates tried before giving up.
    public let attempts: Int
    /// How long a request waits when every candidate is full, then 503.
    public let queueTimeout: Duration
    /// Line of the model's name in the file (0 when built in code).
    public let line: Int

    public init(name: String, task: ModelTask, backends: [String], maxLatency: Duration? = nil,
                attempts: Int = 3, queueTimeout: Duration = .seconds(10), line: Int = 0) {
        self.name = name
        self.task = task
        self.backends = backends
        self.maxLatency = maxLatency
        self.attempts = attempts
        self.queueTimeout = queueTimeout
        self.line = line
    }
}
