// SPDX-License-Identifier: Apache-2.0
// Reads token usage out of an OpenAI-style response as it streams past — the `usage` object of
// a JSON response or of the final SSE chunk — by matching `"prompt_tokens":N` and
// `"completion_tokens":N` byte by byte (chunk boundaries anywhere). Later values win, so the
// usage chunk at the end of a stream overrides nothing earlier by mistake. Until the first
// `"usage"` has gone past, nothing else is looked at: a word-at-a-time search skips to it (a reply carries it
// once, near its end), so the generated text and the choices cost next to nothing.

import Glibc

public struct UsageScanner: Sendable {
    private static let prompt: StaticString = "\"prompt_tokens\""
    private static let completion: StaticString = "\"completion_tokens\""
    private static let usageKey: StaticString = "\"usage\""

    /// The first `"usage"` went past: the matcher below runs from there on.
    private var foundUsage = false
    /// Bytes of `"usage"` matched at the end of the last piece, while looking for it.
    private var usageMatched = 0

    private var promptMatch = 0
    private var completionMatch = 0
    /// 0: matching names; 1: after a name, expecting ':'; 2: reading digits.
    private var phase = 0
    private var target = 0  // 1 = prompt, 2 = completion
    private var number = 0
    private var digits = 0

    public private(set) var usage = TokenUsage()

    public init() {}

    public mutating func scan(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var i = 0
        if !foundUsage {
            guard let after = findUsage(base, bytes.count) else { return }
            foundUsage = true
            i = after
        }
        while i < bytes.count {
            if phase == 0 && promptMatch == 0 && completionMatch == 0 {
                // Both names begin with a quote: nothing can match before the next one, so the
                // bulk of a response (the generated text) is skipped by memchr.
                guard let quote = memchr(base + i, 0x22, bytes.count - i) else { return }
                i = UnsafeRawPointer(quote) - base
                // Room for either name: compare it whole instead of byte by byte.
                if bytes.count - i >= Self.completion.utf8CodeUnitCount {
                    if memcmp(base + i, Self.prompt.utf8Start, Self.prompt.utf8CodeUnitCount) == 0 {
                        phase = 1
                        target = 1
                        i += Self.prompt.utf8CodeUnitCount
                    } else if memcmp(base + i, Self.completion.utf8Start, Self.completion.utf8CodeUnitCount) == 0 {
                        phase = 1
                        target = 2
                        i += Self.completion.utf8CodeUnitCount
                    } else {
                        i += 1  // this quote begins neither
                    }
                    continue
                }
            }
            step(bytes[i])
            i += 1
        }
    }

    /// The offset just past the first `"usage"` in this piece (or completed by it), else nil
    /// with `usageMatched` saying how much of it the piece's end began.
    private mutating func findUsage(_ base: UnsafeRawPointer, _ count: Int) -> Int? {
        let key = Self.usageKey.utf8Start
        let n = Self.usageKey.utf8CodeUnitCount
        if usageMatched > 0 {
            var matched = usageMatched
            var i = 0
            while matched < n && i < count && base.load(fromByteOffset: i, as: UInt8.self) == key[matched] {
                matched += 1
                i += 1
            }
            if matched == n {
                usageMatched = 0
                return i
            }
            if i == count {
                usageMatched = matched
                return nil
            }
            // The key's only quotes are its ends, so no other match began inside the part
            // matched: looking at the whole piece again misses nothing.
            usageMatched = 0
        }
        if let hit = Self.firstUsage(base, count) { return hit + n }
        // A match may begin in the last n - 1 bytes and end in the next piece. It begins with
        // the key's quote, which the key holds nowhere else before its end, so at most one
        // suffix can be a beginning of the key.
        var k = min(count, n - 1)
        while k > 0 {
            if memcmp(base + (count - k), key, k) == 0 {
                usageMatched = k
                return nil
            }
            k -= 1
        }
        return nil
    }

    /// Where the first whole `"usage"` starts in `base[0..<count]`: eight bytes at a time, the
    /// positions of a quote followed by `u` (exact zero-byte masks of the two words XORed with
    /// the bytes wanted), and only those are compared in full. (memmem is a GNU extension this
    /// dependency-free module cannot import.)
    static func firstUsage(_ base: UnsafeRawPointer, _ count: Int) -> Int? {
        let n = usageKey.utf8CodeUnitCount
        guard count >= n else { return nil }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        @inline(__always) func zeroBytes(_ x: UInt64) -> UInt64 { ~(((x & low7) &+ low7) | x | low7) }
        var i = 0
        while i + 9 <= count {
            let quotes = zeroBytes(base.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian ^ (ones &* 0x22))
            let us = zeroBytes(base.loadUnaligned(fromByteOffset: i + 1, as: UInt64.self).littleEndian ^ (ones &* 0x75))
            var candidates = quotes & us
            while candidates != 0 {
                let at = i + candidates.trailingZeroBitCount / 8
                if at + n <= count && isUsage(base + at) { return at }
                candidates &= candidates &- 1
            }
            i += 8
        }
        while i + n <= count {
            if isUsage(base + i) { return i }
            i += 1
        }
        return nil
    }

    @inline(__always)
    private static func isUsage(_ at: UnsafeRawPointer) -> Bool {
        memcmp(at, usageKey.utf8Start, usageKey.utf8CodeUnitCount) == 0
    }

    private mutating func step(_ b: UInt8) {
        switch phase {
        case 1:
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { return }
            if b == UInt8(ascii: ":") { phase = 2; number = 0; digits = 0; return }
            phase = 0
        case 2:
            if digits == 0 && (b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D) { return }
            if b >= 0x30 && b <= 0x39 && digits < 12 {
                number = number * 10 + Int(b - 0x30)
                digits += 1
                return
            }
            if digits > 0 {
                if target == 1 { usage.promptTokens = number } else { usage.completionTokens = number }
            }
            phase = 0
        default:
            break
        }
        promptMatch = Self.advance(promptMatch, b, Self.prompt)
        completionMatch = Self.advance(completionMatch, b, Self.completion)
        if promptMatch == Self.prompt.utf8CodeUnitCount {
            promptMatch = 0
            phase = 1
            target = 1
        } else if completionMatch == Self.completion.utf8CodeUnitCount {
            completionMatch = 0
            phase = 1
            target = 2
        }
    }

    /// KMP-free matching is enough: neither pattern has a proper prefix that is also a suffix
    /// except the leading quote, which restarting on `"` handles.
    private static func advance(_ matched: Int, _ b: UInt8, _ pattern: StaticString) -> Int {
        if pattern.utf8Start[matched] == b { return matched + 1 }
        return b == pattern.utf8Start[0] ? 1 : 0
    }
}
