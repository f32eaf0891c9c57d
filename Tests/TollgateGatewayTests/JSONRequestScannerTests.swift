// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import TollgateGateway

struct JSONRequestScannerTests {
    private func scan(_ text: String, splitEvery: Int = 0) -> JSONRequestScanner {
        var scanner = JSONRequestScanner()
        let bytes = Array(text.utf8)
        if splitEvery > 0 {
            var i = 0
            while i < bytes.count {
                let piece = Array(bytes[i..<min(i + splitEvery, bytes.count)])
                piece.withUnsafeBytes { scanner.scan($0) }
                i += splitEvery
            }
        } else {
            bytes.withUnsafeBytes { scanner.scan($0) }
        }
        scanner.finish()
        return scanner
    }

    @Test func findsModelStreamAndStreamOptionsAtTopLevelOnly() {
        let text = #"{"messages":[{"role":"user","content":"say \"model\": x","model":"inner"}],"model":"llama-3.1-8b","stream":true,"stream_options":{"include_usage":false}}"#
        for split in [0, 1, 3, 7] {
            let s = scan(text, splitEvery: split)
            #expect(s.failure == nil)
            #expect(s.model == "llama-3.1-8b")
            #expect(s.stream == true)
            #expect(s.hasStreamOptions)
            let bytes = Array(text.utf8)
            #expect(String(decoding: bytes[s.modelRange!], as: UTF8.self) == "\"llama-3.1-8b\"")
            #expect(s.closingBraceOffset == bytes.count - 1)
        }
    }

    @Test func streamFalseAndMissingModel() {
        let s = scan(#"{"stream": false, "input": [1, 2.5e3, -4, null, true]}"#)
        #expect(s.failure == nil)
        #expect(s.stream == false)
        #expect(s.model == nil)
    }

    @Test func rejectsWhatIsNotOneJSONObject() {
        #expect(scan("[1,2]").failure == .notAnObject)
        #expect(scan("").failure == .notAnObject)
        #expect(scan(#"{"model":"x""#).failure == .malformed("unexpected end of JSON body"))
        #expect(scan(#"{"model":"x"]"#).failure == .malformed("mismatched brackets"))
        #expect(scan(#"{"model":"x"} {}"#).failure == .malformed("trailing data after the JSON object"))
        #expect(scan(#"{"stream": "yes"}"#).failure == nil)
        #expect(scan(#"{"stream": maybe}"#).failure == .malformed("\"stream\" must be a boolean"))
        #expect(scan("{\"model\":\"a\u{01}b\"}").failure == .malformed("control character in a JSON string"))
    }

    @Test func escapedModelNameIsDecoded() {
        #expect(scan(#"{"model":"a\"b\\c"}"#).model == #"a"b\c"#)
    }
}
