// SPDX-License-Identifier: Apache-2.0
// Finds the `data: [DONE]` line of an SSE stream as it passes, so the gateway can put its own
// comment line (`: tollgate {...}`) just before it (SPEC §3). A possible match cut by a chunk
// boundary is held back (at most 13 bytes) until the next chunk decides it.

struct SSEDoneSplicer {
    private static let marker = Array("data: [DONE]".utf8)
    /// Bytes held back because they could be the start of the marker.
    private var held: [UInt8] = []
    /// Whether the previous byte ended a line (the marker must start a line).
    private var atLineStart = true
    private(set) var sawDone = false

    /// Splits `bytes` into what can be sent now and whether the marker starts right after it.
    /// - Returns: `before` (send first), then `rest` (send after the comment) when the marker
    ///   was found; `rest` is nil otherwise.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> (before: [UInt8], rest: [UInt8]?) {
        var data = held
        data.append(contentsOf: bytes)
        held.removeAll(keepingCapacity: true)
        if sawDone { return (data, nil) }
        var lineStart = atLineStart
        var i = 0
        while i < data.count {
            if lineStart {
                let remaining = data.count - i
                let n = min(remaining, Self.marker.count)
                if data[i..<(i + n)].elementsEqual(Self.marker[0..<n]) {
                    if n == Self.marker.count {
                        sawDone = true
                        return (Array(data[0..<i]), Array(data[i...]))
                    }
                    held = Array(data[i...])
                    atLineStart = true
                    return (Array(data[0..<i]), nil)
                }
            }
            lineStart = data[i] == 0x0A
            i += 1
        }
        atLineStart = lineStart
        return (data, nil)
    }

    /// Anything still held when the stream ends.
    mutating func flush() -> [UInt8] {
        defer { held = [] }
        return held
    }
}
