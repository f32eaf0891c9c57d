// SPDX-License-Identifier: Apache-2.0
// The judge of JSONRequestScanner, shared by JSONRequestScannerTests and the FuzzJSONScanner
// libFuzzer target (FuzzTesting/Sources/FuzzJSONScanner links this very file). It feeds a body
// whole, in pieces and byte by byte, and compares the scanner with Foundation's
// JSONSerialization, which reads duplicate keys the way every backend does (the last wins):
//
// - whatever the scanner accepts, Foundation accepts too, with the same top-level "model"
//   (byte for byte), "stream" and "stream_options"; the model range holds the model, and the
//   stream_options range exactly its value;
// - a body Foundation refuses is refused by the scanner (Foundation's one exception: numbers
//   beyond a Double, which RFC 8259 §6 leaves to implementations and Python reads as inf);
// - what Foundation accepts, written out again by Foundation, is accepted by the scanner unless
//   SPEC §3 refuses it (`invalidRequest`), so the scanner is not merely strict.
import Foundation
import TollgateCore

/// Everything the scanner reports once the body has ended.
struct JSONScanOutcome: Equatable, CustomStringConvertible {
    var rejection: JSONRequestScanner.Rejection?
    var model: [UInt8]?
    var modelRange: Range<Int>?
    var stream: Bool?
    var hasStreamOptions = false
    var streamOptionsStart: Int?
    var streamOptionsEnd: Int?
    var hasMembers = false
    var closingBraceOffset: Int?
    var offset = 0

    init(_ scanner: JSONRequestScanner) {
        rejection = scanner.rejection
        model = scanner.model.map { Array($0.utf8) }
        modelRange = scanner.modelRange
        stream = scanner.stream
        hasStreamOptions = scanner.hasStreamOptions
        streamOptionsStart = scanner.streamOptionsStart
        streamOptionsEnd = scanner.streamOptionsEnd
        hasMembers = scanner.hasMembers
        closingBraceOffset = scanner.closingBraceOffset
        offset = scanner.offset
    }

    var description: String {
        let m = model.map { String(decoding: $0, as: UTF8.self).debugDescription } ?? "nil"
        return "rejection \(rejection.map { "\($0)" } ?? "nil"), model \(m) at \(modelRange.map { "\($0)" } ?? "nil"), "
            + "stream \(stream.map { "\($0)" } ?? "nil"), stream_options \(hasStreamOptions) "
            + "at \(streamOptionsStart.map { "\($0)" } ?? "nil")..<\(streamOptionsEnd.map { "\($0)" } ?? "nil"), "
            + "members \(hasMembers), "
            + "brace \(closingBraceOffset.map { "\($0)" } ?? "nil"), offset \(offset)"
    }
}

enum JSONScannerOracle {
    /// Scans `body` in pieces of the given sizes, repeated in a cycle (`[]`: in one piece).
    static func scan(_ body: [UInt8], pieces: [Int] = []) -> JSONScanOutcome {
        var scanner = JSONRequestScanner()
        body.withUnsafeBytes { all in
            guard !pieces.isEmpty else {
                scanner.scan(all)
                return
            }
            var start = 0
            var k = 0
            while start < all.count {
                let end = min(start + max(pieces[k % pieces.count], 1), all.count)
                scanner.scan(UnsafeRawBufferPointer(rebasing: all[start..<end]))
                start = end
                k += 1
            }
        }
        scanner.finish()
        return JSONScanOutcome(scanner)
    }

    /// Scans `body` as two pieces cut at `cut` (0 and body.count give one empty piece).
    static func scan(_ body: [UInt8], cutAt cut: Int) -> JSONScanOutcome {
        var scanner = JSONRequestScanner()
        body.withUnsafeBytes { all in
            scanner.scan(UnsafeRawBufferPointer(rebasing: all[0..<cut]))
            scanner.scan(UnsafeRawBufferPointer(rebasing: all[cut..<all.count]))
        }
        scanner.finish()
        return JSONScanOutcome(scanner)
    }

    /// Why the scanner's verdict on `body` disagrees with Foundation, or nil.
    static func disagreement(_ body: [UInt8], _ outcome: JSONScanOutcome) -> String? {
        // `notAnObject` means exactly: the first byte that is not whitespace is not `{`.
        let startsAnObject = body.first { !isSpace($0) } == UInt8(ascii: "{")
        if startsAnObject == (outcome.rejection == .notAnObject) {
            return startsAnObject ? "notAnObject for a body that starts with '{'" : "a body that does not start with '{' is not notAnObject"
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(body), options: [])
        } catch {
            guard outcome.rejection == nil else { return nil }
            let why = "\(error)"
            if why.contains("is not representable") { return nil }
            return "the scanner accepted a body Foundation refuses (\(why))"
        }
        guard outcome.rejection == nil else { return nil }
        guard let object = parsed as? [String: Any] else {
            return "the scanner accepted what Foundation reads as \(type(of: parsed))"
        }
        if let why = membersDisagree(object, outcome) { return why }
        if let model = outcome.model {
            // The bytes the rewrite replaces must be exactly the model string.
            guard let range = outcome.modelRange, range.lowerBound >= 0, range.upperBound <= body.count else {
                return "model without a range inside the body"
            }
            let wrapped = [UInt8(ascii: "[")] + body[range] + [UInt8(ascii: "]")]
            let inRange = (try? JSONSerialization.jsonObject(with: Data(wrapped), options: [])) as? [String]
            guard let text = inRange?.first, Array(text.utf8) == model else {
                return "the model range \(range) does not hold the model string"
            }
        } else if outcome.modelRange != nil {
            return "a model range without a model"
        }
        if let why = streamOptionsRangeDisagrees(body, object, outcome) { return why }
        if outcome.hasMembers == object.isEmpty { return "members \(outcome.hasMembers) for \(object.count) distinct names" }
        let last = body.lastIndex { !isSpace($0) }
        if outcome.closingBraceOffset != last { return "closing brace at \(String(describing: outcome.closingBraceOffset)), last byte at \(String(describing: last))" }
        if outcome.offset != body.count { return "offset \(outcome.offset) after \(body.count) bytes" }
        return nil
    }

    /// Foundation's own serialisation of what it parsed from `body` (if it did), and why the
    /// scanner's verdict on that disagrees with what SPEC §3 asks for, or nil.
    static func roundTripDisagreement(_ body: [UInt8]) -> String? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body), options: [])) as? [String: Any],
              JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return nil }
        let text = Array(data)
        let outcome = scan(text)
        var refused = object.keys.contains(where: refusedName)
        if let model = object["model"] {
            refused = refused || (model as? String).map { $0.utf8.count > JSONRequestScanner.maxModelBytes || $0.unicodeScalars.contains("\u{FEFF}") } ?? true
        }
        if let stream = object["stream"] { refused = refused || (!(stream is NSNull) && boolean(stream) == nil) }
        let written = String(decoding: text.prefix(300), as: UTF8.self).debugDescription
        if refused {
            if case .invalidRequest = outcome.rejection { return nil }
            return "round trip \(written): expected invalidRequest, scanner says \(outcome)"
        }
        guard outcome.rejection == nil else { return "round trip \(written): scanner refuses what Foundation wrote: \(outcome)" }
        if let why = membersDisagree(object, outcome) { return "round trip \(written): \(why)" }
        return nil
    }

    /// A top-level name the scanner must refuse once Foundation has written it out.
    private static func refusedName(_ name: String) -> Bool {
        // Foundation escapes `"`, `\` and controls, and SPEC §3 refuses escaped top-level names.
        if name.unicodeScalars.contains(where: { $0 == "\"" || $0 == "\\" || $0.value < 0x20 }) { return true }
        if name.unicodeScalars.contains("\u{FEFF}") { return true }
        // Go's case folding: ASCII case, ſ (U+017F) is s, K (U+212A) is k.
        let folded = String(String.UnicodeScalarView(name.unicodeScalars.map { scalar -> Unicode.Scalar in
            switch scalar {
            case "A"..."Z": return Unicode.Scalar(scalar.value | 0x20)!
            case "\u{17F}": return "s"
            case "\u{212A}": return "k"
            default: return scalar
            }
        }))
        let members = ["model", "stream", "stream_options"]
        return members.contains { Array(folded.utf8) == Array($0.utf8) } && !members.contains { Array(name.utf8) == Array($0.utf8) }
    }

    private static func membersDisagree(_ object: [String: Any], _ outcome: JSONScanOutcome) -> String? {
        switch object["model"] {
        case nil:
            if outcome.model != nil { return "the scanner found a model Foundation does not" }
        case let model as String:
            guard outcome.model == Array(model.utf8) else {
                return "model: Foundation \(model.debugDescription), scanner \(outcome)"
            }
        case let other?:
            return "the scanner accepted a non-string model (\(type(of: other)))"
        }
        switch object["stream"] {
        case nil:
            if outcome.stream != nil { return "the scanner found a stream Foundation does not" }
        case is NSNull:
            if outcome.stream != false { return "stream null should read as false, scanner \(outcome)" }
        case let value?:
            guard let flag = boolean(value) else { return "the scanner accepted a non-boolean stream (\(value))" }
            if outcome.stream != flag { return "stream: Foundation \(flag), scanner \(outcome)" }
        }
        if outcome.hasStreamOptions != (object["stream_options"] != nil) {
            return "stream_options: Foundation \(object["stream_options"] != nil), scanner \(outcome.hasStreamOptions)"
        }
        return nil
    }

    /// The stream_options range must hold exactly its value: no space around it, and the same
    /// value as Foundation's (compared as Foundation writes both out).
    private static func streamOptionsRangeDisagrees(_ body: [UInt8], _ object: [String: Any], _ outcome: JSONScanOutcome) -> String? {
        guard let value = object["stream_options"] else {
            if outcome.streamOptionsStart != nil || outcome.streamOptionsEnd != nil { return "a stream_options range without stream_options" }
            return nil
        }
        guard let start = outcome.streamOptionsStart, let end = outcome.streamOptionsEnd, start >= 0, start < end, end <= body.count else {
            return "stream_options without a range inside the body"
        }
        let slice = Array(body[start..<end])
        if let first = slice.first, let last = slice.last, isSpace(first) || isSpace(last) {
            return "the stream_options range \(start)..<\(end) has space around its value"
        }
        let wrapped = [UInt8(ascii: "[")] + slice + [UInt8(ascii: "]")]
        guard let inRange = (try? JSONSerialization.jsonObject(with: Data(wrapped), options: [])) as? [Any], inRange.count == 1,
              let mine = try? JSONSerialization.data(withJSONObject: inRange, options: [.sortedKeys, .fragmentsAllowed]),
              let theirs = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .fragmentsAllowed]),
              mine == theirs
        else {
            return "the stream_options range \(start)..<\(end) does not hold its value"
        }
        return nil
    }

    /// A JSON `true`/`false` as Foundation returns it (a boolean NSNumber, not 1 or 0).
    private static func boolean(_ value: Any) -> Bool? {
        guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else { return nil }
        return number.boolValue
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }
}
