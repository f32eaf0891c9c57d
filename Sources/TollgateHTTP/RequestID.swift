// SPDX-License-Identifier: Apache-2.0
// The gateway's own id for each request: a random 64-bit prefix per loop run plus a counter,
// as 24 hex characters. Unique across loops and restarts without coordination, and cheap
// (no syscall or lock per request).
import CLinux
import Glibc

public struct RequestID: Sendable, Hashable, CustomStringConvertible {
    public let prefix: UInt64
    public let counter: UInt32

    public var description: String {
        var text = String(prefix, radix: 16)
        text = String(repeating: "0", count: 16 - text.count) + text
        let tail = String(counter, radix: 16)
        return text + String(repeating: "0", count: 8 - tail.count) + tail
    }
}

public struct RequestIDGenerator: Sendable {
    private let prefix: UInt64
    private var counter: UInt32 = 0

    public init() {
        var seed: UInt64 = 0
        // getrandom(2) without flags blocks only before the kernel's pool is initialised at boot.
        let got = withUnsafeMutableBytes(of: &seed) { getrandom($0.baseAddress, 8, 0) }
        if got != 8 { seed = UInt64.random(in: .min ... .max) }
        prefix = seed
    }

    public mutating func next() -> RequestID {
        counter &+= 1
        return RequestID(prefix: prefix, counter: counter)
    }
}
