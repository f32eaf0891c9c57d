// SPDX-License-Identifier: Apache-2.0
// A kind the config knows and this version does not serve yet (see UnavailableBackend).

public struct UnavailableKind: BackendKind {
    public var name: String
    public var reason: String

    public init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }

    public var unavailableReason: String? { reason }

    public func makeAdapter(on loop: BackendLoop) -> any BackendAdapter {
        UnavailableBackend(name: name, reason: reason, loop: loop.eventLoop)
    }
}
