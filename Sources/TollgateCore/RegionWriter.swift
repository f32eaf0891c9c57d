// SPDX-License-Identifier: Apache-2.0
// The one writer of bytes into a pre-reserved region: the access log's lines and the HTTP
// response heads are both built this way (reserve an upper bound once, then store).

/// Writes into a region reserved for it (a log line, a response head): plain stores, one bound
/// check per piece, no call into the buffer per piece. Past the region's end nothing is written
/// and the writer is marked `overflowed`, so a wrong size estimate loses one line or head,
/// never memory beyond the region.
public struct RegionWriter {
    private let base: UnsafeMutableRawPointer?
    private let capacity: Int
    public private(set) var count = 0
    public private(set) var overflowed = false

    public init(_ region: UnsafeMutableRawBufferPointer) {
        base = region.baseAddress
        capacity = region.count
    }

    /// Room for `n` more bytes, or nil (and the line is marked).
    private mutating func claim(_ n: Int) -> UnsafeMutableRawPointer? {
        guard let base, n <= capacity &- count else {
            overflowed = true
            return nil
        }
        defer { count &+= n }
        return base + count
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let from = bytes.baseAddress, let to = claim(bytes.count) else { return }
        to.copyMemory(from: from, byteCount: bytes.count)
    }

    public mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    public mutating func append(string: String) {
        if string.utf8.withContiguousStorageIfAvailable({ append(UnsafeRawBufferPointer($0)) }) == nil {
            var copy = string
            copy.withUTF8 { append(UnsafeRawBufferPointer($0)) }
        }
    }

    public mutating func append(byte: UInt8) {
        claim(1)?.storeBytes(of: byte, as: UInt8.self)
    }

    /// An integer in decimal (a minus sign first when negative), zero-padded to `minimumDigits`.
    public mutating func append(decimal signed: Int, minimumDigits: Int = 1) {
        if signed < 0 { append(byte: UInt8(ascii: "-")) }
        // Int.min's magnitude does not fit an Int: one less is off by a unit nobody will log.
        let value = signed < 0 ? Int(clamping: signed.magnitude) : signed
        // Digits counted by comparison (Int.max has 19), not by division.
        var digits = 1
        var threshold = 10
        while digits < 19 && value >= threshold {
            digits &+= 1
            threshold &*= 10
        }
        digits = max(digits, minimumDigits)
        guard let p = claim(digits) else { return }
        var v = value
        var i = digits &- 1
        while i >= 0 {
            p.storeBytes(of: UInt8(truncatingIfNeeded: 0x30 &+ v % 10), toByteOffset: i, as: UInt8.self)
            v /= 10
            i &-= 1
        }
    }

    /// `value`'s low `digits` nibbles in lower-case hex (at most 16).
    public mutating func append(hex value: UInt64, digits: Int) {
        guard digits <= 16, let p = claim(digits) else { return }
        var v = value
        var i = digits &- 1
        while i >= 0 {
            let nibble = UInt8(truncatingIfNeeded: v & 0xF)
            p.storeBytes(of: nibble < 10 ? 0x30 &+ nibble : 0x57 &+ nibble, toByteOffset: i, as: UInt8.self)
            v >>= 4
            i &-= 1
        }
    }

    /// The 24 hex digits of `RequestID.description`.
    public mutating func append(requestID: RequestID) {
        guard let p = claim(24) else { return }
        requestID.writeHex(to: p)
    }

    /// `text` escaped for the inside of a JSON string (RFC 8259 §7): quotes, backslashes,
    /// controls and DEL escaped, everything else passed through as UTF-8. At most six bytes out
    /// per byte in.
    public mutating func append(jsonEscaped text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ appendEscaped($0) }) == nil {
            var copy = text
            copy.withUTF8 { appendEscaped($0) }
        }
    }

    private mutating func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>) {
        // Runs of bytes that need no escape are copied whole; eight bytes at a time are looked
        // at while none of them is `"`, `\`, a control or DEL (Hacker's Delight §6-1).
        guard let start = bytes.baseAddress else { return }
        var runStart = 0
        var i = 0
        while i < bytes.count {
            if bytes.count &- i >= 8 {
                let w = UnsafeRawPointer(start + i).loadUnaligned(as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101
                let quote = w ^ 0x2222_2222_2222_2222
                let backslash = w ^ 0x5C5C_5C5C_5C5C_5C5C
                let delete = w ^ 0x7F7F_7F7F_7F7F_7F7F
                let special = ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (delete &- ones) & ~delete
                    | (w &- 0x2020_2020_2020_2020) & ~w) & 0x8080_8080_8080_8080
                if special == 0 {
                    i &+= 8
                    continue
                }
            }
            let b = bytes[i]
            i &+= 1
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b == 0x7F else { continue }
            if runStart < i &- 1 { append(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[runStart..<(i &- 1)])) }
            runStart = i
            switch b {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            default:
                append("\\u00")
                append(hex: UInt64(b), digits: 2)
            }
        }
        if runStart < bytes.count {
            append(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[runStart...]))
        }
    }
}
