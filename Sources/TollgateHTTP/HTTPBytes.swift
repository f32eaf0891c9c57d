// SPDX-License-Identifier: Apache-2.0
// Byte classes from RFC 9110 §5.6.2 (tchar) and §5.5 (field-vchar), as lookup tables so the
// parser's inner loops are one load per byte.

enum HTTPBytes {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A

    /// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    static let isTokenChar: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for b in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(b)] = true }
        for b in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(b)] = true }
        for b in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(b)] = true }
        for c in "!#$%&'*+-.^_`|~".utf8 { table[Int(c)] = true }
        return table
    }()

    /// field-vchar (VCHAR / obs-text) plus SP and HTAB: what may appear inside a field value.
    /// NUL, CR, LF and the other controls may not (RFC 9110 §5.5).
    static let isFieldValueChar: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for b in 0x21...0xFF where b != 0x7F { table[b] = true }
        table[0x20] = true
        table[0x09] = true
        return table
    }()

    /// Characters allowed in a request-target: visible ASCII only (RFC 9112 §3.2, RFC 3986;
    /// SP, controls, DEL and bytes ≥ 0x80 are refused rather than guessed at).
    static let isTargetChar: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for b in 0x21...0x7E { table[b] = true }
        return table
    }()

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 {
        (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
    }

    /// Exact byte equality with an ASCII string.
    static func equals(_ p: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        guard p.count == s.utf8CodeUnitCount else { return false }
        let q = s.utf8Start
        for i in 0..<p.count where p[i] != q[i] { return false }
        return true
    }

    /// ASCII case-insensitive equality with a lower-case string.
    static func equalsIgnoringCase(_ p: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        guard p.count == s.utf8CodeUnitCount else { return false }
        let q = s.utf8Start
        for i in 0..<p.count where lower(p[i]) != q[i] { return false }
        return true
    }
}
