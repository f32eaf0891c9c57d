// SPDX-License-Identifier: Apache-2.0
// Process-wide facts every loop reads: whether the gateway is ready (config loaded, ledgers
// rebuilt, usage store writable) and whether it is draining. Atomics, read per request.
import Synchronization
public import TollgateMetering

public final class GatewayState: Sendable {
    private let ready = Atomic<Bool>(false)
    private let draining = Atomic<Bool>(false)
    /// The usage log's writer, nil when the gateway runs without one (some tests).
    public let usage: UsageWriter?

    public init(usage: UsageWriter? = nil) {
        self.usage = usage
    }

    /// Whether the usage log can take rows now (true without a usage log).
    public var isMetering: Bool { usage?.isHealthy ?? true }

    public var isReady: Bool {
        ready.load(ordering: .acquiring) && !draining.load(ordering: .acquiring) && isMetering
    }
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    public func markReady() { ready.store(true, ordering: .releasing) }
    public func markDraining() { draining.store(true, ordering: .releasing) }
}
