// SPDX-License-Identifier: Apache-2.0
// A streaming multipart/form-data parser (RFC 7578; framing from RFC 2046 §5.1.1). Fed the body
// in chunks split anywhere — inside a delimiter, a CRLF or a part's headers — it reports each
// part's start (with its parsed headers), the part's bytes as they arrive, its end, and the end
// of the message. Nothing here does I/O or depends on an event loop.
//
// Memory stays O(boundary + header bound): body bytes are handed on, without a copy, as soon as
// they cannot be the start of a delimiter. A possible delimiter is held only as a count of the
// delimiter bytes it has matched — those bytes *are* the delimiter's prefix, so when the match
// fails they are replayed from the delimiter itself. A boundary has no CR (RFC 2046 bchars,
// checked by MultipartBoundary.validate) and the delimiter "\r\n--" + boundary has its only CR
// first, so a failed match never needs to look back: the byte that broke it is simply looked at
// again as a possible new start.
//
// Strictness (what a gateway forwarding uploads wants):
//   - The preamble is discarded (bounded by `maxPreambleBytes`). The body may start with the
//     dash-boundary directly: the parser starts as if a CRLF had just been seen.
//   - "\r\n--" + boundary followed by anything other than "--", transport padding or CRLF is
//     part data, not a delimiter (senders must pick a boundary absent from the data, but the
//     bytes are not ours to reject).
//   - Transport padding (SP / HT) before a delimiter line's CRLF is bounded (`maxPadding`).
//   - After the close delimiter only whitespace (SP, HT, CR, LF; bounded) may follow: an
//     epilogue with content is refused, so no request smuggles bytes past the parser.
//   - Header lines must end in CRLF; a part must have Content-Disposition: form-data with a
//     name (RFC 7578 §4.2); headers are bounded by `maxHeaderBytes`, parts by `maxParts`.
// After an error the parser stays failed and rethrows it.

package struct MultipartParser {
    package enum Event {
        /// A part begins; its body follows.
        case partBegin(MultipartPartHeaders)
        /// The current part's bytes, valid only during the call.
        case body(UnsafeRawBufferPointer)
        /// The current part ended (its last byte was handed on).
        case partEnd
        /// The close delimiter was read: no part follows.
        case end
    }

    package static let maxHeaderBytes = 8 << 10
    package static let maxParts = 1000
    package static let maxPreambleBytes = 64 << 10
    /// Transport padding on a delimiter line, and whitespace after the close delimiter.
    package static let maxPadding = 256

    private enum State {
        /// Looking for a delimiter; bytes are the preamble (discarded) or a part's body.
        case scanning
        /// A whole "\r\n--" + boundary was matched: what follows decides.
        case afterBoundary
        /// ... and then one "-".
        case afterBoundaryDash
        /// A delimiter line: transport padding until CR.
        case padding
        /// A delimiter line's CR: LF next.
        case delimiterCR
        /// A part's header block.
        case headers
        /// After the close delimiter: only whitespace.
        case closed
    }

    /// "\r\n--" + boundary.
    private let delimiter: [UInt8]
    private var state: State = .scanning
    /// How many delimiter bytes the bytes held so far match (held as this count only). Starts
    /// at 2: the body may open with the dash-boundary, as if after a CRLF.
    private var matched = 2
    /// A part's body is being read (else the preamble).
    private var inPart = false
    private var headerBytes: [UInt8] = []
    private var partCount = 0
    private var preambleBytes = 0
    private var paddingBytes = 0
    private var failure: MultipartError?

    /// `boundary` as given by MultipartBoundary.fromContentType (validated again here).
    package init(boundary: [UInt8]) throws(MultipartError) {
        try MultipartBoundary.validate(boundary)
        delimiter = Array("\r\n--".utf8) + boundary
    }

    /// Bytes the parser holds between calls (a partial delimiter, a partial header block).
    package var heldByteCount: Int { headerBytes.count + (inPart ? matched : 0) }

    /// True once the close delimiter has been read.
    package var isComplete: Bool {
        if case .closed = state { return failure == nil }
        return false
    }

    /// Feeds the next bytes of the body; `emit` receives the events, in order.
    package mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Event) -> Void) throws(MultipartError) {
        if let failure { throw failure }
        do {
            try run(bytes, emit)
        } catch {
            failure = error
            throw error
        }
    }

    /// The body ended: throws `truncated` unless the close delimiter was read.
    package mutating func finish() throws(MultipartError) {
        if let failure { throw failure }
        guard case .closed = state else {
            failure = .truncated
            throw .truncated
        }
    }

    private mutating func run(_ bytes: UnsafeRawBufferPointer, _ emit: (Event) -> Void) throws(MultipartError) {
        let count = bytes.count
        var i = 0
        // In `.scanning`, bytes[runStart..<i] are data not yet handed on, none of them held.
        var runStart = 0
        while i < count {
            switch state {
            case .scanning:
                if matched == 0 {
                    let scanStart = i
                    while i < count, bytes[i] != 0x0D { i += 1 }
                    if !inPart { try countPreamble(i - scanStart) }
                    guard i < count else { break }
                    handOn(bytes, runStart, i, emit)
                    runStart = i
                    matched = 1
                    i += 1
                } else if bytes[i] == delimiter[matched] {
                    matched += 1
                    i += 1
                    if matched == delimiter.count {
                        matched = 0
                        state = .afterBoundary
                    }
                } else {
                    // Not a delimiter: the held prefix is data; look at this byte again.
                    try releaseDelimiterPrefix(matched, emit)
                    matched = 0
                    runStart = i
                }
            case .afterBoundary:
                switch bytes[i] {
                case UInt8(ascii: "-"):
                    state = .afterBoundaryDash
                    i += 1
                case 0x20, 0x09:
                    try beginDelimiterLine(emit)
                    paddingBytes = 1
                    state = .padding
                    i += 1
                case 0x0D:
                    try beginDelimiterLine(emit)
                    state = .delimiterCR
                    i += 1
                default:
                    try releaseDelimiterPrefix(delimiter.count, emit)
                    state = .scanning
                    runStart = i
                }
            case .afterBoundaryDash:
                if bytes[i] == UInt8(ascii: "-") {
                    if inPart { emit(.partEnd) }
                    inPart = false
                    emit(.end)
                    paddingBytes = 0
                    state = .closed
                    i += 1
                } else {
                    try releaseDelimiterPrefix(delimiter.count, emit)
                    try releaseDelimiterPrefix(1, from: 2, emit)  // the "-" (delimiter[2])
                    state = .scanning
                    runStart = i
                }
            case .padding:
                switch bytes[i] {
                case 0x20, 0x09:
                    paddingBytes += 1
                    guard paddingBytes <= Self.maxPadding else { throw .invalidDelimiterLine }
                case 0x0D:
                    state = .delimiterCR
                default:
                    throw .invalidDelimiterLine
                }
                i += 1
            case .delimiterCR:
                guard bytes[i] == 0x0A else { throw .invalidDelimiterLine }
                i += 1
                headerBytes.removeAll(keepingCapacity: true)
                state = .headers
            case .headers:
                // The block is "\r\n" alone (no headers) or ends in "\r\n\r\n".
                let b = bytes[i]
                i += 1
                guard headerBytes.count < Self.maxHeaderBytes else { throw .headersTooLarge }
                headerBytes.append(b)
                let n = headerBytes.count
                // A bare LF, or a CR not followed by LF, fails at once (not at the size bound).
                let afterCR = n >= 2 && headerBytes[n - 2] == 0x0D
                guard (b == 0x0A) == afterCR else { throw .headerLineWithoutCRLF }
                guard b == 0x0A else { continue }
                let ended = n == 2 ? headerBytes[0] == 0x0D
                    : n >= 4 && headerBytes[n - 2] == 0x0D && headerBytes[n - 3] == 0x0A && headerBytes[n - 4] == 0x0D
                guard ended else { continue }
                let headers = try MultipartPartHeaders.parse(headerBytes)
                headerBytes.removeAll(keepingCapacity: false)
                emit(.partBegin(headers))
                inPart = true
                matched = 0
                runStart = i
                state = .scanning
            case .closed:
                switch bytes[i] {
                case 0x20, 0x09, 0x0D, 0x0A:
                    paddingBytes += 1
                    guard paddingBytes <= Self.maxPadding else { throw .trailingData }
                    i += 1
                default:
                    throw .trailingData
                }
            }
        }
        if case .scanning = state, matched == 0 { handOn(bytes, runStart, count, emit) }
    }

    /// Hands on bytes[from..<to] as body (in a part) or drops them (preamble).
    private func handOn(_ bytes: UnsafeRawBufferPointer, _ from: Int, _ to: Int, _ emit: (Event) -> Void) {
        guard inPart, from < to else { return }
        emit(.body(UnsafeRawBufferPointer(rebasing: bytes[from..<to])))
    }

    /// The held delimiter bytes [start, start + length) turned out to be data.
    private mutating func releaseDelimiterPrefix(_ length: Int, from start: Int = 0,
                                                 _ emit: (Event) -> Void) throws(MultipartError) {
        guard inPart else {
            try countPreamble(length)
            return
        }
        guard length > 0, start >= 0, start + length <= delimiter.count else { return }
        delimiter.withUnsafeBytes { d in
            emit(.body(UnsafeRawBufferPointer(rebasing: d[start..<(start + length)])))
        }
    }

    private mutating func countPreamble(_ n: Int) throws(MultipartError) {
        preambleBytes += n
        guard preambleBytes <= Self.maxPreambleBytes else { throw .preambleTooLarge }
    }

    /// A delimiter (not the close one) is confirmed: the current part ends, a new one begins.
    private mutating func beginDelimiterLine(_ emit: (Event) -> Void) throws(MultipartError) {
        if inPart { emit(.partEnd) }
        inPart = false
        partCount += 1
        guard partCount <= Self.maxParts else { throw .tooManyParts }
    }
}
