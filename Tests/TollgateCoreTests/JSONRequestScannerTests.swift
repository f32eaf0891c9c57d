// SPDX-License-Identifier: Apache-2.0
// JSONRequestScanner decides which model a request is authorised and priced for (SPEC §3).
// Every case here is fed whole, byte by byte and cut at every point, and every verdict is
// checked against Foundation's JSONSerialization (JSONScannerOracle).
import Foundation
import Testing
@testable import TollgateCore
import TollgateTestSupport


struct JSONRequestScannerTests {
    /// Scans `body` whole, byte by byte and cut in two at every point; all must give the same
    /// outcome, and that outcome must agree with Foundation. Returns the outcome.
    @discardableResult
    private func check(_ body: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> JSONScanOutcome {
        let whole = JSONScannerOracle.scan(body)
        let bytewise = JSONScannerOracle.scan(body, pieces: [1])
        #expect(bytewise == whole, "byte by byte: \(bytewise)\n whole: \(whole)", sourceLocation: sourceLocation)
        for cut in 0...body.count {
            let split = JSONScannerOracle.scan(body, cutAt: cut)
            if split != whole {
                Issue.record("cut at \(cut): \(split)\n whole: \(whole)", sourceLocation: sourceLocation)
                break
            }
        }
        if let why = JSONScannerOracle.disagreement(body, whole) {
            Issue.record("\(why)\n body: \(String(decoding: body, as: UTF8.self).debugDescription)", sourceLocation: sourceLocation)
        }
        if let why = JSONScannerOracle.roundTripDisagreement(body) {
            Issue.record("\(why)", sourceLocation: sourceLocation)
        }
        return whole
    }

    @discardableResult
    private func check(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> JSONScanOutcome {
        check(Array(text.utf8), sourceLocation: sourceLocation)
    }

    private func model(_ text: String) -> [UInt8] { Array(text.utf8) }

    private static let nameEscape = JSONRequestScanner.Rejection.invalidRequest("a top-level member name contains an escape")
    private static let duplicateModel = JSONRequestScanner.Rejection.invalidRequest("duplicate top-level \"model\"")
    private static let duplicateStream = JSONRequestScanner.Rejection.invalidRequest("duplicate top-level \"stream\"")
    private static let modelNotString = JSONRequestScanner.Rejection.invalidRequest("\"model\" must be a string")
    private static let streamNotBoolean = JSONRequestScanner.Rejection.invalidRequest("\"stream\" must be a boolean")

    // MARK: - What routing reads

    @Test func findsModelStreamAndStreamOptionsAtTopLevelOnly() {
        let text = #"{"messages":[{"role":"user","content":"say \"model\": x","model":"inner"}],"model":"llama-3.1-8b","stream":true,"stream_options":{"include_usage":false}}"#
        let s = check(text)
        #expect(s.rejection == nil)
        #expect(s.model == model("llama-3.1-8b"))
        #expect(s.stream == true)
        #expect(s.hasStreamOptions)
        let bytes = Array(text.utf8)
        #expect(s.modelRange.map { String(decoding: bytes[$0], as: UTF8.self) } == "\"llama-3.1-8b\"")
        #expect(s.closingBraceOffset == bytes.count - 1)
    }

    @Test func streamFalseNullAndMissingModel() {
        let s = check(#"{"stream": false, "input": [1, 2.5e3, -4, null, true, 0, -0.0, 1E+2, 3e-7]}"#)
        #expect(s.rejection == nil)
        #expect(s.stream == false)
        #expect(s.model == nil)
        #expect(check(#"{"model":"m","stream":null}"#).stream == false)
        #expect(check(#"{"model":"m"}"#).stream == nil)
        #expect(check("{}").rejection == nil)
    }

    @Test func escapedModelValueIsDecoded() {
        #expect(check(#"{"model":"a\"b\\c\/d"}"#).model == model(#"a"b\c/d"#))
        #expect(check(#"{"model":"\u0061llowed"}"#).model == model("allowed"))
        #expect(check(#"{"model":"caf\u00e9-\u00E9"}"#).model == model("café-é"))
        #expect(check(#"{"model":"x\ud83d\ude00y"}"#).model == model("x😀y"))
        #expect(check(#"{"model":"t\tn\nz\u0000"}"#).model == model("t\tn\nz\u{0}"))
        #expect(check("{\"model\":\"caf\u{e9}-\u{1F600}\"}").model == model("café-😀"))
    }

    // MARK: - SPEC §3: refused so that what is authorised is what runs

    @Test func escapeInATopLevelMemberNameIsRefused() {
        // The bypass: parsers upstream decode the second name to "model" and keep it (last wins).
        #expect(check(#"{"model":"allowed","m\u006fdel":"other"}"#).rejection == Self.nameEscape)
        #expect(check(#"{"m\u006Fdel":"other","model":"allowed"}"#).rejection == Self.nameEscape)
        #expect(check(#"{"\u006dodel":"other"}"#).rejection == Self.nameEscape)
        #expect(check(#"{"model":"a","str\u0065am":true}"#).rejection == Self.nameEscape)
        #expect(check(#"{"stream_opti\u006fns":{},"model":"a"}"#).rejection == Self.nameEscape)
        // Any escape in any top-level name, even one that names nothing the gateway reads.
        #expect(check(#"{"mo\"del":"x"}"#).rejection == Self.nameEscape)
        #expect(check(#"{"a\\b":1,"model":"x"}"#).rejection == Self.nameEscape)
        #expect(check(#"{"x\/y":1}"#).rejection == Self.nameEscape)
        #expect(check(#"{"model\n":"x"}"#).rejection == Self.nameEscape)
        // Escapes in nested names and in values are ordinary JSON.
        let nested = check(#"{"messages":[{"r\u006fle":"user","m\u006fdel":"other"}],"metadata":{"m\u006fdel":"x"},"model":"m"}"#)
        #expect(nested.rejection == nil)
        #expect(nested.model == model("m"))
    }

    @Test func aNameOnlySomeParsersReadAsModelIsRefused() {
        // Go's encoding/json (Ollama, LocalAI) fills the `model` field from a case-insensitive
        // match with simple folding, so for it these are duplicates that win.
        let caseNames = [("Model", "model"), ("MODEL", "model"), ("modeL", "model"), ("Stream", "stream"),
                         ("STREAM", "stream"), ("\u{17F}tream", "stream"), ("Stream_Options", "stream_options"),
                         ("\u{17F}tream_option\u{17F}", "stream_options")]
        for (name, member) in caseNames {
            #expect(check("{\"model\":\"allowed\",\"\(name)\":\"other\"}").rejection
                == .invalidRequest("a top-level member name differs from \"\(member)\" only in case"), "\(name)")
            #expect(check("{\"\(name)\":1}").rejection != nil, "\(name) alone")
        }
        for name in ["models", "mode", "modelo", "stream_option", "s\u{17F}", "\u{212A}", "mod\u{17F}l", "\u{C5}", "\u{17F}",
                     "stream_optionsx", "stream_optionsxx", "stream_optionsxxx", String(repeating: "model", count: 20)] {
            let near = check("{\"\(name)\":1,\"model\":\"m\"}")
            #expect(near.rejection == nil, "\(name)")
            #expect(near.model == model("m"))
        }
        #expect(check(#"{"messages":[{"Model":"x"}],"metadata":{"MODEL":1},"model":"m"}"#).rejection == nil)

        // Foundation drops a raw U+FEFF at the start of a string or after an escape:
        // "\u{FEFF}model" is "model" to it, and "a\n\u{FEFF}" is "a\n".
        let bomName = JSONRequestScanner.Rejection.invalidRequest("a top-level member name contains U+FEFF")
        for name in ["\u{FEFF}model", "\u{FEFF}\u{FEFF}model", "\u{FEFF}x", "mo\u{FEFF}del", "model\u{FEFF}"] {
            #expect(check("{\"model\":\"allowed\",\"\(name)\":\"other\"}").rejection == bomName, "\(name.debugDescription)")
        }
        let bomModel = JSONRequestScanner.Rejection.invalidRequest("\"model\" contains U+FEFF")
        for value in ["\u{FEFF}allowed", #"\ufeffallowed"#, "a\u{FEFF}", #"a\n"# + "\u{FEFF}", #"a\uFEFF"#] {
            #expect(check("{\"model\":\"\(value)\"}").rejection == bomModel, "\(value.debugDescription)")
        }
        // Anywhere else U+FEFF is an ordinary character.
        let inside = check("{\"x\":{\"\u{FEFF}model\":1},\"content\":\"\u{FEFF}\",\"\u{FEFE}\":2,\"model\":\"a\u{FEFE}\u{BB}\u{BF}\"}")
        #expect(inside.rejection == nil)
        #expect(inside.model == model("a\u{FEFE}\u{BB}\u{BF}"))
    }

    @Test func duplicateModelOrStreamIsRefused() {
        #expect(check(#"{"model":"allowed","model":"other"}"#).rejection == Self.duplicateModel)
        #expect(check(#"{"model":"a","messages":[],"model":"a"}"#).rejection == Self.duplicateModel)
        #expect(check(#"{"stream":false,"model":"m","stream":true}"#).rejection == Self.duplicateStream)
        #expect(check(#"{"stream":null,"stream":true}"#).rejection == Self.duplicateStream)
        #expect(check(#"{"model":"a" , "stream":true ,"stream" :true}"#).rejection == Self.duplicateStream)
        // Refused at the second name, before its value: whatever follows cannot matter.
        #expect(check(#"{"model":"a","model":"#).rejection == Self.duplicateModel)
        // stream_options too: the include_usage rewrite would edit the first, parsers read the
        // last, and a body of 4M repeats would grow the edit list outside max_buffered.
        #expect(check(#"{"model":"m","stream_options":null,"stream_options":{"include_usage":false}}"#).rejection
                == .invalidRequest("duplicate top-level \"stream_options\""))
    }

    @Test func duplicatesOfOtherMembersAndNestedOnesAreAllowed() {
        let s = check(#"{"temperature":1,"temperature":2,"model":"m","stream_options":{"include_usage":true,"include_usage":true},"stream":true}"#)
        #expect(s.rejection == nil)
        #expect(s.model == model("m"))
        #expect(s.stream == true)
        #expect(s.hasStreamOptions)
        let nested = check(#"{"messages":[{"model":"x","model":"y","stream":true,"stream":false}],"model":"m"}"#)
        #expect(nested.rejection == nil)
        #expect(nested.model == model("m"))
        #expect(nested.stream == nil)
    }

    @Test func modelInsideMessagesOrOtherValuesIsNotTheModel() {
        #expect(check(#"{"messages":[{"role":"user","content":"x","model":"evil"}],"model":"m"}"#).model == model("m"))
        #expect(check(#"{"model":"m","messages":[{"model":"evil"}]}"#).model == model("m"))
        let none = check(#"{"messages":[{"model":"evil"}],"tools":[{"function":{"parameters":{"model":{"type":"string"}}}}]}"#)
        #expect(none.rejection == nil)
        #expect(none.model == nil)
        #expect(check(#"{"input":"{\"model\":\"evil\",","model":"m"}"#).model == model("m"))
        #expect(check(#"{"input":["model","stream"],"model":"m"}"#).model == model("m"))
        #expect(check(#"{"prefix_model":"evil","modelx":"evil","mode":"evil","model ":"evil","model":"m"}"#).model == model("m"))
        #expect(check(#"{"streamx":1,"strea":2,"stream_option":3,"stream_optionss":4}"#).hasStreamOptions == false)
    }

    @Test func streamOptionsValueIsDelimitedAsItIsScanned() {
        // StreamOptionsLocator follows only these bytes, so the range must be known as soon as
        // it can be: its start once its first byte is scanned, its end once the value has
        // ended (a number only at the byte after it), whatever the split.
        let values = [#"{"include_usage":false}"#, "null", "12.5e-1", "0", #""no""#, "[1,{}]", "true",
                      #"{"a":{"include_usage":[]},"include\u005fusage":null}"#]
        for value in values {
            for (before, after) in [(#"{"model":"m","stream_options":"#, "}"), (#"{"stream_options" : "#, #" , "stream":true}"#),
                                    (#"{"messages":[{"stream_options":1}],"stream_options":"#, #","x":{"stream_options":2}}"#)] {
                let bytes = Array((before + value + after).utf8)
                let start = before.utf8.count
                let end = start + value.utf8.count
                let isNumber = value.first.map { $0 == "-" || $0.isNumber } ?? false
                let s = check(bytes)
                #expect(s.rejection == nil)
                #expect(s.streamOptionsStart == start && s.streamOptionsEnd == end, "\(s)")
                #expect(s.hasMembers)
                var scanner = JSONRequestScanner()
                for (i, b) in bytes.enumerated() {
                    [b].withUnsafeBytes { scanner.scan($0) }
                    #expect((scanner.streamOptionsStart != nil) == (i >= start), "\(value) after byte \(i)")
                    #expect((scanner.streamOptionsEnd != nil) == (i >= (isNumber ? end : end - 1)), "\(value) after byte \(i)")
                }
            }
        }
        let none = check(#"{"model":"m","messages":[{"stream_options":null}]}"#)
        #expect(none.streamOptionsStart == nil && none.streamOptionsEnd == nil && !none.hasStreamOptions)
        let empty = check(" { } ")
        #expect(!empty.hasMembers && empty.closingBraceOffset == 3)
    }

    @Test func nonStringModelAndNonBooleanStreamAreRefused() {
        for value in ["1", "-1.5", "null", "true", "false", "{}", #"["a"]"#, #"{"name":"a"}"#] {
            #expect(check(#"{"model":\#(value)}"#).rejection == Self.modelNotString, "model \(value)")
        }
        // A duplicate is still refused when the first value is not a string.
        #expect(check(#"{"model":1,"model":"a"}"#).rejection == Self.modelNotString)
        for value in [#""true""#, #""yes""#, "1", "0", "{}", "[]", "1.0"] {
            #expect(check(#"{"model":"m","stream":\#(value)}"#).rejection == Self.streamNotBoolean, "stream \(value)")
        }
        // Not valid JSON at all is `malformed`, whatever the member.
        #expect(check(#"{"model":maybe}"#).rejection == .malformed("expected a JSON value"))
        #expect(check(#"{"stream": nope}"#).rejection == .malformed("invalid literal in JSON"))
    }

    @Test func aLongModelIsRefusedNotCut() {
        let limit = JSONRequestScanner.maxModelBytes
        #expect(check(#"{"model":"\#(String(repeating: "m", count: limit))"}"#).model == model(String(repeating: "m", count: limit)))
        // Cut to 512 bytes, this name would be authorised as the 512-byte model.
        #expect(check(#"{"model":"\#(String(repeating: "m", count: limit))x"}"#).rejection
            == .invalidRequest("\"model\" is longer than 512 bytes"))
        // The limit counts decoded bytes.
        #expect(check(#"{"model":"\#(String(repeating: #"\u00e9"#, count: limit / 2))"}"#).rejection == nil)
        #expect(check(#"{"model":"\#(String(repeating: #"\u00e9"#, count: limit / 2))a"}"#).rejection != nil)
        // A long string elsewhere is nobody's business.
        #expect(check(#"{"input":"\#(String(repeating: "é\\n", count: 500))","model":"m"}"#).model == model("m"))
    }

    // MARK: - Strings, bytes and structure

    @Test func invalidUTF8AndControlCharactersAreRefused() {
        let bad = JSONRequestScanner.Rejection.malformed("invalid UTF-8 in a JSON string")
        let sequences: [[UInt8]] = [
            [0xFF], [0x80], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80],
            [0xF0, 0x80, 0x80, 0xAF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82], [0xC3],
            [0xF0, 0x9F, 0x98],
        ]
        for sequence in sequences {
            for prefix in [#"{"model":"a"#, #"{"content":"a"#, #"{"a"#, #"{"x":{"a"#] {
                let body = Array(prefix.utf8) + sequence + Array(#"b":1}"#.utf8)
                #expect(check(body).rejection == bad, "\(prefix) \(sequence)")
            }
        }
        let control = JSONRequestScanner.Rejection.malformed("control character in a JSON string")
        #expect(check("{\"model\":\"a\u{01}b\"}").rejection == control)
        #expect(check("{\"content\":\"line\nbreak\"}").rejection == control)
        #expect(check("{\"na\u{1F}me\":1}").rejection == control)
        let fine = check("{\"content\":\"\u{7F} é € 😀 \u{10FFFF}\",\"model\":\"m-é€😀\u{7F}\"}")
        #expect(fine.rejection == nil)
        #expect(fine.model == model("m-é€😀\u{7F}"))
    }

    @Test func unpairedSurrogateEscapesAndBadEscapesAreRefused() {
        let unpaired = JSONRequestScanner.Rejection.malformed("unpaired UTF-16 surrogate in a JSON string")
        for text in [#"\ud800"#, #"\udc00"#, #"\ud800\u0041"#, #"\ud800x"#, #"\ud800\n"#, #"\udbff\udbff"#, #"\ude00\ud83d"#] {
            #expect(check(#"{"model":"a\#(text)"}"#).rejection == unpaired, "model \(text)")
            #expect(check(#"{"content":"\#(text)","model":"m"}"#).rejection == unpaired, "content \(text)")
        }
        #expect(check(#"{"content":"\x"}"#).rejection == .malformed("invalid escape in a JSON string"))
        #expect(check(#"{"content":"\'"}"#).rejection == .malformed("invalid escape in a JSON string"))
        #expect(check(#"{"content":"\u12"}"#).rejection == .malformed("invalid \\u escape in a JSON string"))
        #expect(check(#"{"content":"\u12G4"}"#).rejection == .malformed("invalid \\u escape in a JSON string"))
        #expect(check(#"{"content":"\U0041"}"#).rejection == .malformed("invalid escape in a JSON string"))
    }

    @Test func grammarIsCheckedAtEveryDepth() {
        let invalid = [
            #"{"a":1,}"#, #"{"a":[1,]}"#, #"{"model" "a"}"#, #"{"model":"a" : "b"}"#, #"{"model":"a" "b"}"#,
            #"{"a":01}"#, #"{"a":-01}"#, #"{"a":1.}"#, #"{"a":.5}"#, #"{"a":+1}"#, #"{"a":1e}"#, #"{"a":1e+}"#,
            #"{"a":-}"#, #"{"a":1.5.5}"#, #"{"a":0x10}"#, #"{"a":tru}"#, #"{"a":TRUE}"#, #"{"a":NaN}"#,
            #"{"a":Infinity}"#, #"{"a":truex}"#, #"{"a":nulll}"#, #"{"a":[1 2]}"#, #"{"a":{"b" 1}}"#, #"{"a":[}"#,
            #"{"a":{]}"#, #"{"a":{"b":1,}}"#, #"{,"model":"x"}"#, #"{"a":1,,"b":2}"#, #"{"a"::1}"#, #"{"a":/*c*/1}"#,
            #"{'a':1}"#, #"{a:1}"#, #"{"a":1"b":2}"#, #"{"a":[1]]}"#, #"{"a":{}}}"#, #"{"a":"b"]"#, #"{"a":1]"#,
            #"{"a":["b":1]}"#, #"{"a":{"b"}}"#, #"{"a":{1:2}}"#, #"{"a":1 2}"#, #"{"a"}"#, #"{"a":}"#, #"{:1}"#,
            #"{"model":"x"} {}"#, #"{"model":"x"}}"#, #"{"model":"x"},"#, "{}\u{0}", "{\"a\":1}\u{0B}",
        ]
        for text in invalid {
            let outcome = check(text)
            if case .malformed = outcome.rejection {} else { Issue.record("\(text): \(outcome)") }
        }
        #expect(check(#"{"model":"x""#).rejection == .malformed("unexpected end of JSON body"))
        #expect(check(#"{"model":"x"]"#).rejection == .malformed("mismatched brackets"))
        #expect(check(#"{"model":"x"} {}"#).rejection == .malformed("trailing data after the JSON object"))
        #expect(check(#"{"a":[{"b":[[],{},[{}],"x",1,true,null]}],"c":{"d":{"e":[]}}}"#).rejection == nil)
    }

    @Test func onlyAnObjectIsARequest() {
        for text in ["", "   \n", "[1,2]", "\"model\"", "1", "null", "model", "\u{FEFF}{}", "\u{A0}{}", "\u{0B}{}"] {
            #expect(check(text).rejection == .notAnObject, "\(text.debugDescription)")
        }
        // UTF-16 and a UTF-8 byte order mark: Foundation guesses the encoding; the scanner does not.
        let utf16 = Array("{\"model\":\"m\"}".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(check(utf16).rejection == .malformed("expected a member name"))
        let bom = check([0xEF, 0xBB, 0xBF] + Array(#"{"model":"m"}"#.utf8))
        #expect(bom.rejection == .notAnObject)
        let text = " \r\n\t{ \"model\" :\n\"m\" ,\t\"stream\"\r: true } \n\r\t"
        let spaced = check(text)
        #expect(spaced.rejection == nil)
        #expect(spaced.model == model("m"))
        #expect(spaced.stream == true)
        #expect(spaced.closingBraceOffset == Array(text.utf8).lastIndex(of: UInt8(ascii: "}")))
    }

    @Test func nestingIsBoundedWithoutRecursion() {
        func nested(_ levels: Int) -> String {
            #"{"model":"m","a":"# + String(repeating: "[", count: levels - 1) + String(repeating: "]", count: levels - 1) + "}"
        }
        #expect(check(nested(JSONRequestScanner.maxDepth)).rejection == nil)
        #expect(check(nested(JSONRequestScanner.maxDepth + 1)).rejection == .malformed("JSON nested too deeply"))
        let objects = #"{"model":"m","a":"# + String(repeating: #"{"a":"#, count: 510) + "1" + String(repeating: "}", count: 511)
        #expect(check(objects).rejection == nil)
        // A million levels: refused at level 513, fed whole and in one-byte pieces, no stack growth.
        let deep = Array(("{\"a\":" + String(repeating: "[", count: 1_000_000)).utf8)
        #expect(JSONScannerOracle.scan(deep).rejection == .malformed("JSON nested too deeply"))
        #expect(JSONScannerOracle.scan(deep, pieces: [1]).rejection == .malformed("JSON nested too deeply"))
        // Alternating kinds: `]` must match `[` at every depth, not just the top.
        let mixed = "{\"a\":" + String(repeating: "[{\"b\":", count: 200) + "1" + String(repeating: "}]", count: 200) + "}"
        #expect(check(mixed).rejection == nil)
        let swapped = "{\"a\":" + String(repeating: "[{\"b\":", count: 200) + "1" + String(repeating: "]}", count: 200) + "}"
        #expect(check(swapped).rejection == .malformed("mismatched brackets"))
    }

    // MARK: - Differential: random bodies against Foundation

    /// Mutations of the cases above, from a seed that is the same in every run and printed
    /// (`TOLLGATE_TEST_SEED=<n> swift test --filter JSONRequestScannerTests` varies it).
    @Test func randomMutationsAgreeWithFoundation() {
        let seed = TestSeed.value(for: "JSONRequestScannerTests.randomMutationsAgreeWithFoundation")
        print("JSONRequestScannerTests.randomMutationsAgreeWithFoundation seed \(seed)")
        var rng = SplitMix64(seed: seed)
        let corpus = Self.corpus.map { Array($0.utf8) }
        let tokens = [#"""#, "\\", "{", "}", "[", "]", ":", ",", " ", "model", "stream", "stream_options", #"\u006f"#,
                      #"\ud83d\ude00"#, #"\ud800"#, "true", "false", "null", "1e400", "-0.5e-3", "01", "\u{FF}", "é", "\u{1}",
                      #""model":"b""#, #""stream":true"#, #","model":1"#]
        var accepted = 0
        for round in 0..<3000 {
            var body = corpus[Int(rng.next() % UInt64(corpus.count))]
            for _ in 0...(rng.next() % 4) {
                let at = body.isEmpty ? 0 : Int(rng.next() % UInt64(body.count + 1))
                switch rng.next() % 4 {
                case 0: body.insert(contentsOf: Array(tokens[Int(rng.next() % UInt64(tokens.count))].utf8), at: at)
                case 1: if at < body.count { body.remove(at: at) }
                case 2: if at < body.count { body[at] = UInt8(truncatingIfNeeded: rng.next()) }
                default: if at < body.count { body[at] = Self.structural[Int(rng.next() % UInt64(Self.structural.count))] }
                }
            }
            let pieces = (0...(rng.next() % 4)).map { _ in Int(rng.next() % 9) + 1 }
            let whole = JSONScannerOracle.scan(body)
            let split = JSONScannerOracle.scan(body, pieces: pieces)
            let text = String(decoding: body, as: UTF8.self).debugDescription
            #expect(split == whole, "round \(round) pieces \(pieces): \(split)\n whole: \(whole)\n body: \(text)")
            if let why = JSONScannerOracle.disagreement(body, whole) { Issue.record("round \(round): \(why)\n body: \(text)") }
            if let why = JSONScannerOracle.roundTripDisagreement(body) { Issue.record("round \(round): \(why)") }
            if whole.rejection == nil { accepted += 1 }
        }
        // The mutations must reach the interesting side too, or this test proves little.
        #expect(accepted > 300)
    }

    private static let structural = Array(#"{}[]":,\ "#.utf8)

    private static let corpus = [
        #"{"model":"llama-3.1-8b","messages":[{"role":"user","content":"hi \"there\" \u00e9"}],"stream":true}"#,
        #"{"model":"allowed","m\u006fdel":"other"}"#,
        #"{"model":"a","model":"b"}"#,
        #"{"stream":false,"stream":true,"model":"m"}"#,
        #"{"input":[1,2.5e3,-4,null,true,false,{"a":[]}],"model":"text-embedding-3-small"}"#,
        #"{"model":"m","stream":true,"stream_options":{"include_usage":true},"n":1}"#,
        #"{"messages":[{"model":"evil"}],"model":"m"}"#,
        #"{"model":"\u0061\ud83d\ude00","temperature":0.7,"max_tokens":16}"#,
        #"{"model":1}"#,
        #"{"model":"m","stream":"yes"}"#,
        " {\"model\" : \"m\" , \"stream\" : null } ",
        #"{"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"model":{"type":"string"}}}}}],"model":"m"}"#,
    ]
}
