// SPDX-License-Identifier: Apache-2.0
// Base64 with RFC 4648 §4's standard alphabet, without Foundation. `encode` pads; `decode`
// accepts text with or without its `=` padding (job platforms send both) and refuses anything
// else: other alphabets (§5's `-_`), whitespace, line breaks, misplaced or excess padding, and
// a length no encoding can have. Base64Encoder is the streaming form, for uploads that are
// never held whole.

public enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// 0...63 for an alphabet byte, 0xFF otherwise.
    static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (n, c) in alphabet.enumerated() { table[Int(c)] = UInt8(n) }
        return table
    }()

    /// Padded base64 of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        var encoder = Base64Encoder()
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        bytes.withUnsafeBytes { encoder.encode($0, into: &out) }
        encoder.finish(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes `text` encodes, or nil when it is not base64 (see the file's header). Bits
    /// left over in the last character beyond the data (RFC 4648 §3.5) are ignored, not refused.
    public static func decode(_ text: String) -> [UInt8]? {
        var utf8 = Array(text.utf8)
        // Padding: at most two `=`, only at the end, and then the whole length is a multiple of 4.
        var padding = 0
        while let last = utf8.last, last == UInt8(ascii: "=") {
            utf8.removeLast()
            padding += 1
        }
        guard padding <= 2 else { return nil }
        if padding > 0 { guard (utf8.count + padding) % 4 == 0 else { return nil } }
        let tail = utf8.count % 4
        guard tail != 1 else { return nil }  // one character carries only 6 bits: no byte
        if padding > 0 { guard padding == 4 - tail else { return nil } }

        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 4 * 3 + 2)
        var accumulator: UInt32 = 0
        var bits = 0
        for c in utf8 {
            let v = values[Int(c)]
            guard v != 0xFF else { return nil }
            accumulator = (accumulator << 6 | UInt32(v)) & 0xFFFFFF
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return out
    }
}

/// Base64 of a byte stream fed in pieces of any size: the output is the same as
/// `Base64.encode` of the whole, whatever the split. Holds at most two bytes between calls.
public struct Base64Encoder: Sendable {
    private var pending: (UInt8, UInt8) = (0, 0)
    private var pendingCount = 0
    private static let zeros = [UInt8](repeating: 0, count: 16 << 10)

    public init() {}

    /// Appends the base64 of `bytes` (minus up to two bytes kept for the next call) to `out`.
    public mutating func encode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        var i = 0
        let n = bytes.count
        // Complete the group started by an earlier call.
        while pendingCount > 0 && pendingCount < 3 && i < n {
            if pendingCount == 1 {
                pending.1 = bytes[i]
                pendingCount = 2
                i += 1
            } else {
                Base64Encoder.group(pending.0, pending.1, bytes[i], into: &out)
                pendingCount = 0
                i += 1
            }
        }
        let groups = (n - i) / 3
        if groups > 0, let input = bytes.baseAddress {
            let start = out.count
            // Grown by copying zeros from a block (a contiguous append is a memcpy, even in a
            // debug build), then written through raw pointers: no per-byte bounds checks. A
            // 50 MB upload re-encoded for a job platform goes through here.
            var missing = groups * 4
            while missing > 0 {
                let k = min(missing, Base64Encoder.zeros.count)
                out.append(contentsOf: Base64Encoder.zeros[0..<k])
                missing -= k
            }
            Base64.alphabet.withUnsafeBufferPointer { table in
                out.withUnsafeMutableBufferPointer { buffer in
                    guard let a = table.baseAddress, let o = buffer.baseAddress else { return }
                    var w = o + start
                    var r = input.assumingMemoryBound(to: UInt8.self) + i
                    for _ in 0..<groups {
                        let b0 = r[0], b1 = r[1], b2 = r[2]
                        w[0] = a[Int(b0 >> 2)]
                        w[1] = a[Int((b0 & 0x03) << 4 | b1 >> 4)]
                        w[2] = a[Int((b1 & 0x0F) << 2 | b2 >> 6)]
                        w[3] = a[Int(b2 & 0x3F)]
                        w += 4
                        r += 3
                    }
                }
            }
            i += groups * 3
        }
        while i < n {
            if pendingCount == 0 { pending.0 = bytes[i] } else { pending.1 = bytes[i] }
            pendingCount += 1
            i += 1
        }
    }

    /// `encode` for an array.
    public mutating func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        bytes.withUnsafeBytes { encode($0, into: &out) }
    }

    /// Writes the last one or two held bytes with their padding; the encoder is then empty and
    /// may start a new stream.
    public mutating func finish(into out: inout [UInt8]) {
        let a = Base64.alphabet
        switch pendingCount {
        case 1:
            out.append(a[Int(pending.0 >> 2)])
            out.append(a[Int((pending.0 & 0x03) << 4)])
            out.append(UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        case 2:
            out.append(a[Int(pending.0 >> 2)])
            out.append(a[Int((pending.0 & 0x03) << 4 | pending.1 >> 4)])
            out.append(a[Int((pending.1 & 0x0F) << 2)])
            out.append(UInt8(ascii: "="))
        default:
            break
        }
        pendingCount = 0
    }

    private static func group(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, into out: inout [UInt8]) {
        let a = Base64.alphabet
        out.append(a[Int(b0 >> 2)])
        out.append(a[Int((b0 & 0x03) << 4 | b1 >> 4)])
        out.append(a[Int((b1 & 0x0F) << 2 | b2 >> 6)])
        out.append(a[Int(b2 & 0x3F)])
    }
}
