// SPDX-License-Identifier: Apache-2.0
// Drives HTTPRequestParser the way a connection does (keeping unconsumed bytes, appending new
// ones) and records what it saw, so every case can be replayed in any split.
package import TollgateHTTP

package enum ParseOutcome: Equatable, CustomStringConvertible {
    case head(method: String, target: String, minor: Int, framing: HTTPBodyFraming, keepAlive: Bool)
    case body([UInt8])
    case end
    case error(Int)

    package var description: String {
        switch self {
        case .head(let m, let t, let v, let f, let k): return "head(\(m) \(t) 1.\(v) \(f) keepAlive=\(k))"
        case .body(let b): return "body(\(String(decoding: b, as: UTF8.self)))"
        case .end: return "end"
        case .error(let s): return "error(\(s))"
        }
    }
}

package struct ParserHarness {
    private var parser: HTTPRequestParser
    private var pending: [UInt8] = []
    private var outcomes: [ParseOutcome] = []
    private var failed = false

    private init(limits: HTTPParserLimits = HTTPParserLimits()) {
        parser = HTTPRequestParser(limits: limits)
    }

    private mutating func feed(_ bytes: [UInt8]) {
        guard !failed else { return }
        pending += bytes
        var offset = 0
        loop: while true {
            var parseError: HTTPParseError?
            var step: (event: HTTPParseEvent, consumed: Int) = (.needMore, 0)
            pending.withUnsafeBytes { raw in
                do throws(HTTPParseError) {
                    step = try parser.next(UnsafeRawBufferPointer(rebasing: raw[offset...]))
                } catch {
                    parseError = error
                }
            }
            if let parseError {
                outcomes.append(.error(parseError.status))
                failed = true
                return
            }
            let result = step
            let start = offset
            offset += result.consumed
            switch result.event {
            case .needMore:
                break loop
            case .head(let h):
                outcomes.append(.head(method: h.method.description, target: h.target, minor: h.minorVersion,
                                      framing: h.framing, keepAlive: h.keepAlive))
            case .body(let r):
                let data = Array(pending[(start + r.lowerBound)..<(start + r.upperBound)])
                // Merge adjacent body pieces so split boundaries do not change the outcome.
                if case .body(let previous)? = outcomes.last {
                    outcomes[outcomes.count - 1] = .body(previous + data)
                } else {
                    outcomes.append(.body(data))
                }
            case .end:
                outcomes.append(.end)
            }
        }
        pending.removeFirst(offset)
    }

    /// Parses `input` split at `cuts` (sorted offsets; see `Pieces.feed(_:cuts:_:)`).
    package static func run(_ input: [UInt8], cuts: [Int], limits: HTTPParserLimits = HTTPParserLimits()) -> [ParseOutcome] {
        var harness = ParserHarness(limits: limits)
        Pieces.feed(input, cuts: cuts) { piece, _ in harness.feed(Array(piece)) }
        return harness.outcomes
    }

    package static func whole(_ input: [UInt8], limits: HTTPParserLimits = HTTPParserLimits()) -> [ParseOutcome] {
        run(input, cuts: [], limits: limits)
    }

    package static func byteByByte(_ input: [UInt8], limits: HTTPParserLimits = HTTPParserLimits()) -> [ParseOutcome] {
        run(input, cuts: Array(0..<input.count), limits: limits)
    }
}

extension Array where Element == UInt8 {
    /// The UTF-8 bytes of `text`.
    package init(_ text: String) { self = Array(text.utf8) }
}
