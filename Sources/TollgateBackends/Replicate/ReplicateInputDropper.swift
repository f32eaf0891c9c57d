// SPDX-License-Identifier: Apache-2.0
// Drops the top-level `input` member's value from a prediction object as it streams in,
// writing `null` in its place. Replicate echoes a prediction's `input` in every create and
// poll reply (replicate-python-beta `types/prediction.py`), and an input with an uploaded file
// carries the whole file as a data URL: without this each reply of a 58 MB audio upload would
// cost the gateway ~77 MB for the bytes and as much again for their parsed string. The adapter
// never reads `input`, so it is never held.
//
// A byte-level scan (RFC 8259 §2, §7: structural characters count only outside strings,
// `\` escapes the next byte), safe to split anywhere. Only a key spelled exactly `"input"`
// (no escapes) at the top level matches; anything else passes through unchanged, so an
// invalid document stays invalid for the parser to refuse. Pure.

struct ReplicateInputDropper {
    private static let key = Array("input".utf8)

    private var depth = 0
    private var inString = false
    private var escaped = false
    /// At depth 1, after `{` or `,`: the next string is a member name.
    private var expectKey = false
    private var readingKey = false
    /// Bytes of "input" matched by the name being read; -1 once it cannot match.
    private var keyMatch = -1
    /// The last member name at depth 1 was `input`, and its `:` has not come yet.
    private var keyIsInput = false
    private var skipping = false
    /// Bytes left out so far.
    private(set) var dropped = 0

    /// Appends to `out` what of `bytes` is kept.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        var runStart = 0
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if inString {
                if escaped {
                    escaped = false
                } else if b == UInt8(ascii: "\\") {
                    escaped = true
                    if readingKey { keyMatch = -1 }
                } else if b == UInt8(ascii: "\"") {
                    inString = false
                    if readingKey {
                        readingKey = false
                        keyIsInput = keyMatch == Self.key.count
                    }
                } else if readingKey, keyMatch >= 0 {
                    keyMatch = keyMatch < Self.key.count && Self.key[keyMatch] == b ? keyMatch + 1 : -1
                }
                i += 1
                continue
            }
            switch b {
            case UInt8(ascii: "\""):
                inString = true
                if depth == 1, expectKey, !skipping {
                    expectKey = false
                    readingKey = true
                    keyMatch = 0
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth == 1 { expectKey = b == UInt8(ascii: "{") }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 1, skipping { endSkip(at: i, runStart: &runStart) }
                depth = max(depth - 1, 0)
            case UInt8(ascii: ","):
                if depth == 1 {
                    if skipping { endSkip(at: i, runStart: &runStart) }
                    expectKey = true
                }
            case UInt8(ascii: ":"):
                if depth == 1, keyIsInput, !skipping {
                    keyIsInput = false
                    // Keep everything up to and including the colon, then `null` for the value.
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart...i]))
                    out.append(contentsOf: "null".utf8)
                    skipping = true
                    runStart = i + 1
                } else if depth == 1 {
                    keyIsInput = false
                }
            default:
                break
            }
            i += 1
        }
        if skipping {
            dropped += bytes.count - runStart
        } else if runStart < bytes.count {
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart...]))
        }
    }

    /// The value being skipped ended just before `index` (a `,` or the closing `}` at depth 1).
    private mutating func endSkip(at index: Int, runStart: inout Int) {
        skipping = false
        dropped += index - runStart
        runStart = index
    }
}
