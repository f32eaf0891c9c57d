// SPDX-License-Identifier: Apache-2.0
// Relays an SSE stream in whole events (an event ends at a blank line; lines end in CRLF, LF
// or CR — WHATWG HTML §9.2.5). Passing on only whole events lets the gateway
//   - put its metering comment (`: tollgate {...}`) right before the `data: [DONE]` event
//     (SPEC §3),
//   - withhold the usage event from a client that did not ask for it while the upstream was
//     asked anyway, so the meter still sees it (issue 7 item 15),
//   - end a stream that fails, or is cut by the drain deadline, with a clean `event: error`
//     instead of appending it to half an event.
// A partial event waits for the rest of it (bounded: one larger than `maxHeld` passes on as
// it comes). The common chunk — whole events, nothing to withhold — is passed on as it is,
// without a copy.

package struct SSEEventFramer {
    package init() {}

    /// Largest event held back while incomplete (a usage or [DONE] event is far smaller).
    static let maxHeld = 64 << 10

    /// Withhold the `choices: []` + `usage` event.
    package var withholdUsage = false
    package private(set) var sawDone = false

    /// The incomplete event received so far (nothing of it was passed on).
    private var held: [UInt8] = []
    /// An oversized event is being passed on as it comes.
    private var passingThrough = false
    /// Bytes in the current line (0 at a line start).
    private var lineLength = 0
    /// The previous byte was a CR (a following LF belongs to the same line end).
    private var afterCR = false
    /// The current event has a non-blank line (blank lines before any content are not events).
    private var eventHasContent = false
    /// The last event ended on a CR at the end of a chunk: an LF opening the next chunk is its.
    private var lastEventEndedOnCR = false
    private var lastEventWithheld = false

    package enum Output {
        /// Bytes to send, valid during the call.
        case bytes(UnsafeRawBufferPointer)
        /// The `data: [DONE]` event is next.
        case beforeDone
    }

    /// True when nothing of an unfinished event has been passed on: an event written now
    /// starts cleanly.
    package var isAtEventBoundary: Bool { !passingThrough }

    /// Feeds upstream bytes; `emit` receives what to send, in order.
    package mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Output) -> Void) {
        guard !bytes.isEmpty else { return }
        var start = 0  // first byte of `bytes` not yet passed on, held or dropped
        if lastEventEndedOnCR {
            lastEventEndedOnCR = false
            if bytes[0] == 0x0A && held.isEmpty && !passingThrough {
                afterCR = false
                if !lastEventWithheld { emit(.bytes(UnsafeRawBufferPointer(rebasing: bytes[0..<1]))) }
                start = 1
                if bytes.count == 1 { return }
            }
        }
        if !held.isEmpty || passingThrough {
            // Finish the event begun in an earlier chunk.
            guard let end = scanToEventEnd(bytes, from: start) else {
                let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
                if passingThrough {
                    emit(.bytes(rest))
                } else {
                    held.append(contentsOf: rest)
                    if held.count > Self.maxHeld { releaseHeldUnframed(emit) }
                }
                return
            }
            if passingThrough {
                emit(.bytes(UnsafeRawBufferPointer(rebasing: bytes[start..<end])))
                passingThrough = false
                lastEventWithheld = false
            } else {
                held.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                let event = held
                held.removeAll(keepingCapacity: true)
                event.withUnsafeBytes { relay(event: $0, emit) }
            }
            start = end
        }
        // Whole events from `start` on: a run of plain ones is passed on in one piece.
        var runStart = start
        var eventStart = start
        while let end = scanToEventEnd(bytes, from: eventStart) {
            let event = UnsafeRawBufferPointer(rebasing: bytes[eventStart..<end])
            let kind = classify(event)
            lastEventWithheld = kind == .usage
            if kind != .plain {
                if eventStart > runStart { emit(.bytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<eventStart]))) }
                relay(event: event, kind: kind, emit)
                runStart = end
            }
            eventStart = end
        }
        if eventStart > runStart { emit(.bytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<eventStart]))) }
        if eventStart < bytes.count {
            held.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[eventStart...]))
            if held.count > Self.maxHeld { releaseHeldUnframed(emit) }
        }
    }

    /// The stream ended normally: whatever is held goes out as it is.
    package mutating func finish(_ emit: (Output) -> Void) {
        guard !held.isEmpty else { return }
        let rest = held
        held = []
        rest.withUnsafeBytes { emit(.bytes($0)) }
    }

    /// The stream is being cut: an unfinished event is dropped, never half-sent.
    package mutating func discardPartialEvent() {
        held = []
    }

    private mutating func releaseHeldUnframed(_ emit: (Output) -> Void) {
        let event = held
        held = []
        passingThrough = true
        event.withUnsafeBytes { emit(.bytes($0)) }
    }

    private enum Kind { case plain, done, usage }

    private mutating func relay(event: UnsafeRawBufferPointer, _ emit: (Output) -> Void) {
        let kind = classify(event)
        lastEventWithheld = kind == .usage
        relay(event: event, kind: kind, emit)
    }

    private mutating func relay(event: UnsafeRawBufferPointer, kind: Kind, _ emit: (Output) -> Void) {
        switch kind {
        case .plain:
            emit(.bytes(event))
        case .done:
            sawDone = true
            emit(.beforeDone)
            emit(.bytes(event))
        case .usage:
            break  // metered upstream-side (UsageScanner), not for this client
        }
    }

    /// Advances the line state over `bytes[from...]`; returns the index just past the blank
    /// line that ends the current event, or nil when the chunk ends first.
    private mutating func scanToEventEnd(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            if b == 0x0A && afterCR {
                afterCR = false  // the LF of a CRLF: the line already ended at the CR
                continue
            }
            afterCR = b == 0x0D
            if b == 0x0A || b == 0x0D {
                let blank = lineLength == 0
                lineLength = 0
                if blank && eventHasContent {
                    eventHasContent = false
                    // A CRLF blank line: take its LF with this event when it is here already.
                    if b == 0x0D {
                        if i < bytes.count {
                            if bytes[i] == 0x0A {
                                afterCR = false
                                i += 1
                            }
                        } else {
                            lastEventEndedOnCR = true
                        }
                    }
                    return i
                }
            } else {
                lineLength += 1
                eventHasContent = true
            }
        }
        return nil
    }

    private static let done = Array("[DONE]".utf8)

    private func classify(_ event: UnsafeRawBufferPointer) -> Kind {
        // First non-empty line: `data: [DONE]` (the space after the colon is optional).
        var i = 0
        while i < event.count && (event[i] == 0x0A || event[i] == 0x0D) { i += 1 }
        if Self.matches(event, at: i, "data:") {
            var j = i + 5
            if j < event.count && event[j] == 0x20 { j += 1 }
            if event.count >= j + Self.done.count && event[j..<(j + Self.done.count)].elementsEqual(Self.done) {
                return .done
            }
        }
        if withholdUsage && Self.isUsageEvent(event) { return .usage }
        return .plain
    }

    /// The usage chunk: `"choices":[]` and a `"usage":{` object (whitespace allowed).
    package static func isUsageEvent(_ event: UnsafeRawBufferPointer) -> Bool {
        member(event, "\"choices\"", opens: UInt8(ascii: "["), thenCloses: UInt8(ascii: "]"))
            && member(event, "\"usage\"", opens: UInt8(ascii: "{"), thenCloses: nil)
    }

    private static func matches(_ bytes: UnsafeRawBufferPointer, at i: Int, _ text: StaticString) -> Bool {
        let n = text.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        for k in 0..<n where bytes[i + k] != text.utf8Start[k] { return false }
        return true
    }

    /// Whether `name` appears followed by `:`, the byte `open`, and (when given) `close` right
    /// after it, whitespace allowed in between.
    private static func member(_ bytes: UnsafeRawBufferPointer, _ name: StaticString, opens open: UInt8,
                               thenCloses close: UInt8?) -> Bool {
        func skipSpace(_ i: inout Int) {
            while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D) { i += 1 }
        }
        var at = 0
        while at < bytes.count {
            guard matches(bytes, at: at, name) else {
                at += 1
                continue
            }
            var i = at + name.utf8CodeUnitCount
            at += 1
            skipSpace(&i)
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { continue }
            i += 1
            skipSpace(&i)
            guard i < bytes.count, bytes[i] == open else { continue }
            guard let close else { return true }
            i += 1
            skipSpace(&i)
            if i < bytes.count && bytes[i] == close { return true }
        }
        return false
    }
}
