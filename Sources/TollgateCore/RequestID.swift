// SPDX-License-Identifier: Apache-2.0
// The gateway's own id for each request: a random 64-bit prefix per loop run plus a counter,
// as 24 hex characters. Unique across loops and restarts without coordination, and cheap
// (no syscall or lock per request).

import Glibc

public struct RequestID: Sendable, Hashable, CustomStringConvertible {
    public let prefix: UInt64
    public let counter: UInt32

    public init(prefix: UInt64, counter: UInt32) {
        self.prefix = prefix
        self.counter = counter
    }

    /// The length of `description` (and of what `writeHex` writes).
    @inlinable public static var textLength: Int { 24 }

    /// 24 lower-case hex digits, formatted in place (one allocation, none for padding).
    public var description: String {
        String(unsafeUninitializedCapacity: 24) { out in
            Self.writeHex(prefix: prefix, counter: counter, to: UnsafeMutableRawPointer(out.baseAddress!))
            return 24
        }
    }

    /// Writes the 24 hex digits of `description` at `out`, which must have room for them
    /// (a header or a log line being written in place).
    public func writeHex(to out: UnsafeMutableRawPointer) {
        Self.writeHex(prefix: prefix, counter: counter, to: out)
    }

    /// Writes 24 hex digits at `out` (which must have room for them): eight at a time, each
    /// word's nibbles spread to one byte each and turned into digits without a branch.
    @inline(__always)
    private static func writeHex(prefix: UInt64, counter: UInt32, to out: UnsafeMutableRawPointer) {
        out.storeBytes(of: hexWord(UInt32(truncatingIfNeeded: prefix >> 32)).bigEndian, toByteOffset: 0, as: UInt64.self)
        out.storeBytes(of: hexWord(UInt32(truncatingIfNeeded: prefix)).bigEndian, toByteOffset: 8, as: UInt64.self)
        out.storeBytes(of: hexWord(counter).bigEndian, toByteOffset: 16, as: UInt64.self)
    }

    /// The 8 hex digits of `v` as the bytes of a word, the most significant digit in the top byte.
    @inline(__always)
    private static func hexWord(_ v: UInt32) -> UInt64 {
        var x = UInt64(v)
        x = (x | x << 16) & 0x0000_FFFF_0000_FFFF
        x = (x | x << 8) & 0x00FF_00FF_00FF_00FF
        x = (x | x << 4) & 0x0F0F_0F0F_0F0F_0F0F
        // Nibbles above 9 get 0x27 more, so 10 lands on "a" (0x30 + 10 + 0x27 = 0x61).
        let letters = ((x &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return x &+ 0x3030_3030_3030_3030 &+ letters &* 0x27
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
