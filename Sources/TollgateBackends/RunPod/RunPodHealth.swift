// SPDX-License-Identifier: Apache-2.0
// RunPod's `GET /health` answer (runpod/docs operation-reference.mdx):
// `{"jobs":{"completed","failed","inProgress","inQueue","retried"},"workers":{"idle","running"}}`;
// workers also carry `initializing`, `ready`, `throttled`, `unhealthy` in practice [observed,
// backend-protocols.md §2.3]. The probe neither wakes a worker nor bills. Pure.
import TollgateCore

public struct RunPodHealth: Equatable, Sendable {
    public var inQueue: Int
    public var inProgress: Int
    public var idle: Int
    public var running: Int
    public var ready: Int
    public var initializing: Int
    public var throttled: Int
    public var unhealthy: Int

    public init(inQueue: Int = 0, inProgress: Int = 0, idle: Int = 0, running: Int = 0, ready: Int = 0,
                initializing: Int = 0, throttled: Int = 0, unhealthy: Int = 0) {
        self.inQueue = inQueue
        self.inProgress = inProgress
        self.idle = idle
        self.running = running
        self.ready = ready
        self.initializing = initializing
        self.throttled = throttled
        self.unhealthy = unhealthy
    }

    /// A worker is up (idle-and-loaded or busy): the next job pays no cold start.
    public var isWarm: Bool { ready > 0 || idle > 0 || running > 0 }
    /// A worker is starting: a cold start is under way.
    public var isWaking: Bool { initializing > 0 }

    /// nil when the body is not a health object (both `jobs` and `workers` objects).
    public static func parse(_ bytes: [UInt8]) -> RunPodHealth? {
        guard let value = try? JSONValue.parse(bytes), let jobs = value["jobs"], let workers = value["workers"],
              jobs.objectValue != nil, workers.objectValue != nil else { return nil }
        func count(_ v: JSONValue, _ key: String) -> Int {
            guard let n = v[key]?.int64Value, n >= 0, n <= Int64(Int32.max) else { return 0 }
            return Int(n)
        }
        return RunPodHealth(inQueue: count(jobs, "inQueue"), inProgress: count(jobs, "inProgress"),
                            idle: count(workers, "idle"), running: count(workers, "running"),
                            ready: count(workers, "ready"), initializing: count(workers, "initializing"),
                            throttled: count(workers, "throttled"), unhealthy: count(workers, "unhealthy"))
    }
}

/// What one probe found.
public enum RunPodProbeResult: Equatable, Sendable {
    case healthy(RunPodHealth)
    /// The endpoint answered, but not with a health object (the status, when not 2xx).
    case badReply(status: Int)
    /// No answer: connect failure, TLS, timeout.
    case unreachable(String)
}
