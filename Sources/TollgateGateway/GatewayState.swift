// SPDX-License-Identifier: Apache-2.0
// Process-wide facts every loop reads: whether the gateway is ready (config loaded, ledgers
// rebuilt, usage store writable) and whether it is draining. Atomics, read per request.
import Synchronization

public final class GatewayState: Sendable {
    private let ready = Atomic<Bool>(false)
    private let draining = Atomic<Bool>(false)

    public init() {}

    public var isReady: Bool { ready.load(ordering: .acquiring) && !draining.load(ordering: .acquiring) }
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    public func markReady() { ready.store(true, ordering: .releasing) }
    public func markDraining() { draining.store(true, ordering: .releasing) }
}
