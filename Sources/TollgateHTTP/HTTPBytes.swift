// SPDX-License-Identifier: Apache-2.0
// Byte classes from RFC 9110 §5.6.2 (tchar) and §5.5 (field-vchar), as bit masks: a class test
// is a shift and an AND, inlined into the parser's loops. (Static `let` tables cost a
// `swift_once` check and a bounds check on every byte read across a module boundary.)
import Glibc

enum HTTPBytes {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A

    /// Whether bit `b` is set in the 128-bit set `(low, high)`; bytes ≥ 0x80 are never members.
    @inline(__always)
    private static func member(_ b: UInt8, _ low: UInt64, _ high: UInt64) -> Bool {
        b < 64 ? (low >> UInt64(b)) & 1 != 0 : b < 128 && (high >> UInt64(b & 63)) & 1 != 0
    }

    /// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    @inline(__always)
    static func isTokenChar(_ b: UInt8) -> Bool {
        member(b, 0x03FF_6CFA_0000_0000, 0x57FF_FFFF_C7FF_FFFE)
    }

    /// A tchar other than `_`: what a header name may hold here (see `HTTPHeadParser`).
    @inline(__always)
    static func isNameChar(_ b: UInt8) -> Bool {
        let set: UInt64 = b < 64 ? 0x03FF_6CFA_0000_0000 : 0x57FF_FFFF_47FF_FFFE
        return b < 128 && (set >> UInt64(b & 63)) & 1 != 0
    }

    /// field-vchar (VCHAR / obs-text) plus SP and HTAB: what may appear inside a field value.
    /// NUL, CR, LF, DEL and the other controls may not (RFC 9110 §5.5).
    @inline(__always)
    static func isFieldValueChar(_ b: UInt8) -> Bool {
        b >= 0x20 ? b != 0x7F : b == 0x09
    }

    /// Characters allowed in a request-target: visible ASCII only (RFC 9112 §3.2, RFC 3986;
    /// SP, controls, DEL and bytes ≥ 0x80 are refused rather than guessed at).
    @inline(__always)
    static func isTargetChar(_ b: UInt8) -> Bool {
        b &- 0x21 < 0x5E  // 0x21...0x7E
    }

    /// What may appear in a Host value (RFC 9110 §7.2: uri-host [":" port], with IP-literal
    /// brackets and percent-encoding): ALPHA / DIGIT / "-._~!$&'()*+,;=:[]%".
    @inline(__always)
    static func isHostChar(_ b: UInt8) -> Bool {
        member(b, 0x2FFF_7FF2_0000_0000, 0x47FF_FFFE_AFFF_FFFE)
    }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 {
        (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
    }

    /// Exact byte equality with an ASCII string.
    @inline(__always)
    static func equals(_ p: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        p.count == s.utf8CodeUnitCount && (p.isEmpty || memcmp(p.baseAddress!, s.utf8Start, p.count) == 0)
    }

    /// ASCII case-insensitive equality with a lower-case string, eight bytes at a time (the
    /// last word overlapping the one before; four bytes twice for 4…7 bytes).
    static func equalsIgnoringCase(_ p: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        let n = p.count
        guard n == s.utf8CodeUnitCount else { return false }
        guard n > 0, let base = p.baseAddress else { return true }
        let q = UnsafeRawPointer(s.utf8Start)
        @inline(__always) func word(_ at: Int) -> Bool {
            lowerWord(base.loadUnaligned(fromByteOffset: at, as: UInt64.self)) == q.loadUnaligned(fromByteOffset: at, as: UInt64.self)
        }
        @inline(__always) func half(_ at: Int) -> Bool {
            lowerWord(UInt64(base.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                == UInt64(q.loadUnaligned(fromByteOffset: at, as: UInt32.self))
        }
        if n >= 8 {
            var i = 0
            while i + 8 < n {
                guard word(i) else { return false }
                i += 8
            }
            return word(n - 8)
        }
        if n >= 4 { return half(0) && half(n - 4) }
        for i in 0..<n where lower(base.load(fromByteOffset: i, as: UInt8.self)) != q.load(fromByteOffset: i, as: UInt8.self) {
            return false
        }
        return true
    }

    /// `lower` applied to each byte of a word: exactly the bytes A…Z gain 0x20.
    @inline(__always)
    static func lowerWord(_ x: UInt64) -> UInt64 {
        let highs: UInt64 = 0x8080_8080_8080_8080
        let seven = x & ~highs                                 // each byte's low 7 bits
        let atLeastA = seven &+ 0x3F3F_3F3F_3F3F_3F3F          // high bit: ≥ 0x41
        let pastZ = seven &+ 0x2525_2525_2525_2525             // high bit: ≥ 0x5B
        let upper = atLeastA & ~pastZ & ~x & highs             // and the byte itself < 0x80
        return x | (upper >> 2)
    }

    /// The offset of the first `byte` in `p[from..<to]`, or nil (memchr: word-at-a-time).
    @inline(__always)
    static func find(_ byte: UInt8, in p: UnsafeRawBufferPointer, from: Int, to: Int) -> Int? {
        guard from < to, let base = p.baseAddress else { return nil }
        guard let hit = memchr(base + from, Int32(byte), to - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }
}
