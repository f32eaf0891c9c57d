// SPDX-License-Identifier: Apache-2.0
// The gateway's own id for each request: a random 64-bit prefix per loop run plus a counter,
// as 24 hex characters. Unique across loops and restarts without coordination, and cheap
// (no syscall or lock per request).

import Glibc

public struct RequestID: Sendable, Hashable, CustomStringConvertible {
    public let prefix: UInt64
    public let counter: UInt32

    /// 24 lower-case hex digits, formatted in place (one allocation, none for padding).
    public var description: String {
        String(unsafeUninitializedCapacity: 24) { out in
            let digits: StaticString = "0123456789abcdef"
            for i in 0..<16 { out[i] = digits.utf8Start[Int((prefix >> UInt64(60 - 4 * i)) & 0xF)] }
            for i in 0..<8 { out[16 + i] = digits.utf8Start[Int((counter >> UInt32(28 - 4 * i)) & 0xF)] }
            return 24
        }
    }
}

public struct RequestIDGenerator: Sendable {
    private var prefix: UInt64
    private var counter: UInt32 = 0

    public init() {
        prefix = Self.randomPrefix()
    }

    /// Starts at `counter` under `prefix` (tests of the wrap).
    init(prefix: UInt64, counter: UInt32) {
        self.prefix = prefix
        self.counter = counter
    }

    /// The next id. At 50,000 requests a second a 32-bit counter wraps within a day; SPEC §5
    /// wants ids unique forever, so a wrap draws a new random prefix instead of repeating one.
    public mutating func next() -> RequestID {
        if counter == .max {
            var fresh = Self.randomPrefix()
            while fresh == prefix { fresh = Self.randomPrefix() }
            prefix = fresh
            counter = 0
        }
        counter += 1
        return RequestID(prefix: prefix, counter: counter)
    }

    private static func randomPrefix() -> UInt64 {
        // SystemRandomNumberGenerator reads getrandom(2) on Linux, which blocks only before the
        // kernel's pool is initialised at boot.
        UInt64.random(in: .min ... .max)
    }
}
