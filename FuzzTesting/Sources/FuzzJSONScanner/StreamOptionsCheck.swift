// SPDX-License-Identifier: Apache-2.0
// The include_usage rewrite judged for FuzzJSONScanner: StreamOptionsLocator follows the
// scanner chunk by chunk, as ProxyExchange drives them (StreamOptionsLocator.swift in this
// folder is a symlink to the real file). For a body the scanner accepts:
// - the edits and clientAskedForUsage do not depend on the split;
// - no edit turns up below what ProxyExchange could already have sent (the bytes that arrived,
//   up to the hold);
// - the edits are in order, inside the body, and the rewritten body is JSON that Foundation
//   reads like the original but for `stream_options`, whose `include_usage` is now `true`
//   (unless `stream_options` is neither an object nor null, or `include_usage` is a container:
//   both are left for the upstream to refuse);
// - clientAskedForUsage is nil without `stream_options`, else whether its `include_usage` is
//   `true` as Foundation reads it.
import Foundation
import TollgateCore

enum StreamOptionsCheck {
    struct Outcome: Equatable, CustomStringConvertible {
        var edits: [StreamOptionsLocator.Edit]
        var asked: Bool?

        var description: String {
            let list = edits.map { "\($0.at)-\($0.remove)+\(String(decoding: $0.insert, as: UTF8.self).debugDescription)" }
            return "edits [\(list.joined(separator: ", "))], asked \(asked.map { "\($0)" } ?? "nil")"
        }
    }

    /// Scans `body` in pieces of the given sizes, cycled (`[]`: in one piece), with the locator
    /// behind the scanner. nil if the scanner refuses the body; the string says why the
    /// locator broke a rule on the way (a late edit or hold).
    static func run(_ body: [UInt8], pieces: [Int] = []) -> (outcome: Outcome?, broken: String?) {
        var scanner = JSONRequestScanner()
        var locator = StreamOptionsLocator()
        var broken: String?
        // After each piece: how many edits were known, and how far ProxyExchange could send.
        var sendable: [(known: Int, limit: Int)] = []
        body.withUnsafeBytes { all in
            var start = 0
            var k = 0
            while start < all.count {
                let end = pieces.isEmpty ? all.count : min(start + max(pieces[k % pieces.count], 1), all.count)
                let piece = UnsafeRawBufferPointer(rebasing: all[start..<end])
                scanner.scan(piece)
                if scanner.rejection != nil { return }  // ProxyExchange refuses the body here
                locator.follow(piece, scannedBy: scanner)
                if let hold = locator.holdFrom, hold >= end { broken = "hold at \(hold) after \(end) bytes" }
                sendable.append((locator.edits.count, min(locator.holdFrom ?? end, end)))
                start = end
                k += 1
            }
        }
        scanner.finish()
        guard scanner.rejection == nil else { return (nil, nil) }
        locator.finish()
        if let hold = locator.holdFrom { broken = "hold at \(hold) after the body ended" }
        for (known, limit) in sendable {
            for edit in locator.edits.dropFirst(known) where edit.at < limit {
                broken = "edit at \(edit.at) found after bytes up to \(limit) could be sent"
            }
        }
        return (Outcome(edits: locator.edits, asked: locator.clientAskedForUsage), broken)
    }

    /// Why the rewrite of `body` (accepted by the scanner) is wrong, or nil.
    static func disagreement(_ body: [UInt8], _ outcome: Outcome) -> String? {
        var rewritten: [UInt8] = []
        var cursor = 0
        for edit in outcome.edits {
            guard edit.at >= cursor, edit.remove >= 0, edit.at + edit.remove <= body.count else {
                return "edits out of order or outside the body: \(outcome)"
            }
            rewritten += body[cursor..<edit.at]
            rewritten += edit.insert
            cursor = edit.at + edit.remove
        }
        rewritten += body[cursor...]
        // Foundation's one extra refusal (numbers beyond a Double): nothing to compare with.
        guard let original = (try? JSONSerialization.jsonObject(with: Data(body), options: [])) as? [String: Any] else { return nil }
        let text = String(decoding: rewritten.prefix(300), as: UTF8.self).debugDescription
        guard let parsed = (try? JSONSerialization.jsonObject(with: Data(rewritten), options: [])) as? [String: Any] else {
            return "the rewritten body is not a JSON object: \(text)"
        }
        var before = original
        var after = parsed
        before["stream_options"] = nil
        after["stream_options"] = nil
        guard same(before, after) else { return "the rewrite changed more than stream_options: \(text)" }

        // Foundation drops a U+FEFF at the start of a string and after an escape, so it may read
        // a name the locator compares byte for byte as `include_usage`; not judged here.
        if containsBOM(body) { return nil }
        let options = original["stream_options"]
        let usage = (options as? [String: Any])?["include_usage"]
        if usage is [String: Any] || usage is [Any] { return nil }
        let expectedAsked: Bool?
        switch options {
        case nil:
            expectedAsked = nil
        case is NSNull:
            expectedAsked = false
        case let object as [String: Any]:
            expectedAsked = usage.map { boolean($0) == true } ?? false
            var rest = object
            rest["include_usage"] = nil
            var rewrittenRest = (parsed["stream_options"] as? [String: Any]) ?? [:]
            rewrittenRest["include_usage"] = nil
            guard same(rest, rewrittenRest) else { return "the rewrite changed other stream_options members: \(text)" }
        default:
            guard let value = options, let now = parsed["stream_options"], same(["v": value], ["v": now]) else {
                return "a stream_options that is not an object was changed: \(text)"
            }
            return outcome.asked == false ? nil : "asked \(String(describing: outcome.asked)) for a stream_options that is not an object"
        }
        if outcome.asked != expectedAsked {
            return "asked \(String(describing: outcome.asked)), Foundation reads \(String(describing: expectedAsked)): \(outcome)"
        }
        let given = (parsed["stream_options"] as? [String: Any])?["include_usage"]
        guard let given, boolean(given) == true else { return "the upstream does not get include_usage true: \(text)" }
        return nil
    }

    private static func same(_ a: [String: Any], _ b: [String: Any]) -> Bool {
        let options: JSONSerialization.WritingOptions = [.sortedKeys, .fragmentsAllowed]
        guard let x = try? JSONSerialization.data(withJSONObject: a, options: options),
              let y = try? JSONSerialization.data(withJSONObject: b, options: options)
        else { return false }
        return x == y
    }

    /// A JSON `true`/`false` as Foundation returns it (a boolean NSNumber, not 1 or 0).
    private static func boolean(_ value: Any) -> Bool? {
        guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else { return nil }
        return number.boolValue
    }

    /// A raw U+FEFF or a `\uFEFF` escape anywhere in the body.
    private static func containsBOM(_ body: [UInt8]) -> Bool {
        let escape = Array(#"\ufeff"#.utf8)
        for i in body.indices {
            if body[i] == 0xEF && i + 2 < body.count && body[i + 1] == 0xBB && body[i + 2] == 0xBF { return true }
            if body[i] == UInt8(ascii: "\\") && i + 6 <= body.count
                && zip(body[i..<(i + 6)], escape).allSatisfy({ $0 | 0x20 == $1 | 0x20 }) { return true }
        }
        return false
    }
}
