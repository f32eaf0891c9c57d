// SPDX-License-Identifier: Apache-2.0
// The include_usage rewrite, checked by applying the edits and parsing the result, for bodies
// split at every byte.
import Foundation
import Testing
@testable import TollgateCore
import TollgateTestSupport

struct StreamOptionsLocatorTests {
    /// Scans `body` in pieces of `size` the way ProxyExchange does (the scanner, then the
    /// locator on what the scanner found), checks the hold never points at bytes already
    /// decided, and returns the rewritten body and whether the client asked for usage.
    private func rewrite(_ body: String, size: Int) -> (String, Bool?) {
        var scanner = JSONRequestScanner()
        var locator = StreamOptionsLocator()
        let bytes = Array(body.utf8)
        Pieces.feed(bytes, size: size) { piece, seen in
            scanner.scan(piece)
            locator.follow(piece, scannedBy: scanner)
            if let hold = locator.holdFrom { #expect(hold < seen) }
            // Every edit found so far lies within the bytes seen.
            #expect(locator.edits.allSatisfy { $0.at <= seen })
        }
        scanner.finish()
        locator.finish()
        #expect(locator.holdFrom == nil)
        var out: [UInt8] = []
        var cursor = 0
        for edit in locator.edits {
            out += bytes[cursor..<edit.at]
            out += edit.insert
            cursor = edit.at + edit.remove
        }
        out += bytes[cursor...]
        return (String(decoding: out, as: UTF8.self), locator.clientAskedForUsage)
    }

    private func includeUsage(_ json: String) -> Any? {
        let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return (object?["stream_options"] as? [String: Any])?["include_usage"]
    }

    @Test(arguments: [
        (#"{"model":"m","stream":true}"#, nil as Bool?),
        (#"{"model":"m","stream_options":{"include_usage":false},"stream":true}"#, false),
        (#"{"model":"m","stream_options":{"include_usage":true}}"#, true),
        (#"{"model":"m","stream_options":{}}"#, false),
        (#"{"model":"m","stream_options":{ "continuous_usage_stats" : true }}"#, false),
        (#"{"model":"m","stream_options":null}"#, false),
        (#"{"model":"m","stream_options":{"include_usage":null}}"#, false),
        (#"{"model":"m","stream_options":{"include_usage":"no"}}"#, false),
        (#"{"model":"m","stream_options":{"include_usage":0}}"#, false),
        (#"{"model":"m","stream_options":{"include_usage":true,"include\u005fusage":false}}"#, false),
        (#"{"model":"m","messages":[{"stream_options":{"include_usage":false}}],"stream_options":{"a":{"include_usage":false}}}"#, false),
        (#"{"stream_options" : { "x" : [1,{"y":"}"}], "include_usage" : false } , "model":"m"}"#, false),
    ])
    func theUpstreamAlwaysGetsIncludeUsageTrue(body: String, asked: Bool?) {
        for size in [1, 2, 3, 7, 1000] {
            let (rewritten, clientAsked) = rewrite(body, size: size)
            #expect(includeUsage(rewritten) as? Bool == true, "\(rewritten) size \(size)")
            #expect(clientAsked == asked, "size \(size)")
        }
    }

    @Test func nothingElseChanges() {
        let body = #"{"model":"m","messages":[{"role":"user","content":"stream_options \" include_usage"}],"stream":true}"#
        let (rewritten, _) = rewrite(body, size: 5)
        #expect(rewritten == #"{"model":"m","messages":[{"role":"user","content":"stream_options \" include_usage"}],"stream":true,"stream_options":{"include_usage":true}}"#)
    }

    @Test func malformedInputNeverTraps() {
        // Replayable: the seed is printed with any failure (TOLLGATE_TEST_SEED=n varies it).
        let seed = TestSeed.value(for: "StreamOptionsLocatorTests.malformedInputNeverTraps")
        var generator = SplitMix64(seed: seed)
        let alphabet = Array(#"{}[]":,\ufalse true null 0 stream_options include_usage"#.utf8)
        for _ in 0..<2000 {
            let bytes = (0..<Int(generator.next() % 80)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            // As the stream_options value itself, and as a body behind the scanner.
            var locator = StreamOptionsLocator()
            bytes.withUnsafeBytes { locator.followValue($0, at: 0) }
            locator.valueEnded()
            locator.finish()
            #expect(locator.edits.allSatisfy { $0.at >= 0 && $0.at <= bytes.count && $0.remove >= 0 }, "seed \(seed)")
            var scanner = JSONRequestScanner()
            var behind = StreamOptionsLocator()
            bytes.withUnsafeBytes {
                scanner.scan($0)
                behind.follow($0, scannedBy: scanner)
            }
            scanner.finish()
            behind.finish()
            #expect(behind.edits.allSatisfy { $0.at >= 0 && $0.at <= bytes.count && $0.remove >= 0 }, "seed \(seed)")
        }
    }
}
