// SPDX-License-Identifier: Apache-2.0
// Reads token usage out of an OpenAI-style response as it streams past — the `usage` object of
// a JSON response or of the final SSE chunk — by matching `"prompt_tokens":N` and
// `"completion_tokens":N` byte by byte (chunk boundaries anywhere). Later values win, so the
// usage chunk at the end of a stream overrides nothing earlier by mistake.

import Glibc

public struct UsageScanner: Sendable {
    private static let prompt: StaticString = "\"prompt_tokens\""
    private static let completion: StaticString = "\"completion_tokens\""

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
        while i < bytes.count {
            if phase == 0 && promptMatch == 0 && completionMatch == 0 {
                // Both names begin with a quote: nothing can match before the next one, so the
                // bulk of a response (the generated text) is skipped by memchr.
                guard let quote = memchr(base + i, 0x22, bytes.count - i) else { return }
                i = UnsafeRawPointer(quote) - base
            }
            step(bytes[i])
            i += 1
        }
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
