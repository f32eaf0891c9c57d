// SPDX-License-Identifier: Apache-2.0
// Reads the SSE stream of Gradio's `GET <prefix>/call/<api>/<event_id>` into whole events.
// Gradio writes each message as `event: <name>\ndata: <json>\n\n` (gradio/routes.py
// simple_predict_get.process_msg; backend-protocols.md §1.2), but the stream is parsed as the
// WHATWG HTML standard §9.2.6 says any event stream is: lines end in CRLF, LF or CR, a line
// starting with ":" is a comment, `field: value` loses one leading space, several `data` lines
// are joined with LF, and a blank line dispatches the event. Fed in chunks split anywhere.
// Bounded: an event larger than `maxEventBytes` is an error, never an unbounded buffer.

struct GradioEventParser {
    enum Failure: Error, Equatable {
        /// One event exceeded the bound.
        case eventTooLarge
    }

    let maxEventBytes: Int
    private var line: [UInt8] = []
    private var name: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    /// The previous chunk ended in CR: an LF opening this one belongs to that line end.
    private var afterCR = false
    private var eventBytes = 0

    init(maxEventBytes: Int) {
        self.maxEventBytes = max(maxEventBytes, 1)
    }

    /// Feeds stream bytes; returns the events they complete, in order.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> [GradioEvent] {
        var events: [GradioEvent] = []
        for byte in bytes {
            if afterCR {
                afterCR = false
                if byte == 0x0A { continue }
            }
            switch byte {
            case 0x0D:
                afterCR = true
                if let event = endLine() { events.append(event) }
            case 0x0A:
                if let event = endLine() { events.append(event) }
            default:
                eventBytes += 1
                guard eventBytes <= maxEventBytes else { throw .eventTooLarge }
                line.append(byte)
            }
        }
        return events
    }

    /// Processes the line just ended; a blank line dispatches the event gathered so far.
    private mutating func endLine() -> GradioEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer {
                name.removeAll(keepingCapacity: true)
                data.removeAll(keepingCapacity: true)
                hasData = false
                eventBytes = 0
            }
            // §9.2.6 "dispatch the event": no data, no event.
            guard hasData else { return nil }
            return GradioEvent(name: name.isEmpty ? "message" : String(decoding: name, as: UTF8.self), data: data)
        }
        if line[0] == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = line[..<colon]
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = line[valueStart...]
        if field.elementsEqual("event".utf8) {
            name = Array(value)
        } else if field.elementsEqual("data".utf8) {
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        }
        // `id` and `retry` mean nothing for a one-shot call; other fields are ignored (§9.2.6).
        return nil
    }
}
