// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TollgateTestSupport
@testable import TollgateCore

@Suite struct JSONValueTests {
    private func parse(_ text: String, maxDepth: Int = 64) throws(JSONParseError) -> JSONValue {
        try JSONValue.parse(Array(text.utf8), maxDepth: maxDepth)
    }

    private func reason(_ bytes: [UInt8], maxDepth: Int = 64) -> JSONParseError.Reason? {
        do {
            _ = try JSONValue.parse(bytes, maxDepth: maxDepth)
            return nil
        } catch {
            return error.reason
        }
    }

    private func reason(_ text: String) -> JSONParseError.Reason? { reason(Array(text.utf8)) }

    // MARK: - RFC 8259 acceptance (JSONTestSuite-style y_ cases)

    @Test(arguments: [
        "[]", "{}", " [ ] ", "\t\r\n{\"a\" : 1 }\n", "null", "true", "false", "0", "-0", "-0.0", "1E+2", "1e-2",
        "1E2", "123.456e78", "-9223372036854775809", "\"\"", "\"\\u0000\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "\"\\uD834\\uDD1E\"", "\"\u{7F}\"", "\"é€😀\"", "[1,[2,[3,{\"a\":[]}]]]", "{\"a\":{\"b\":{}}}",
        "[null,true,false,\"x\",1.5,[],{}]", "{\"\":0}", "[\"\\u002c\"]", "\"\\u00e9\"",
    ])
    func acceptsValidTexts(_ text: String) throws {
        let value = try parse(text)
        // The compact serialization parses back to the same value.
        #expect(try JSONValue.parse(value.serialized) == value)
    }

    // MARK: - RFC 8259 refusals (n_ cases)

    @Test(arguments: [
        ("", JSONParseError.Reason.unexpectedEnd),
        ("   ", .unexpectedEnd),
        ("[", .unexpectedEnd),
        ("[1", .unexpectedEnd),
        ("{\"a\"", .unexpectedEnd),
        ("{\"a\":", .unexpectedEnd),
        ("\"abc", .unexpectedEnd),
        ("[1,]", .unexpectedByte(UInt8(ascii: "]"))),
        ("[,1]", .unexpectedByte(UInt8(ascii: ","))),
        ("{\"a\":1,}", .unexpectedByte(UInt8(ascii: "}"))),
        ("{a:1}", .unexpectedByte(UInt8(ascii: "a"))),
        ("{'a':1}", .unexpectedByte(UInt8(ascii: "'"))),
        ("{\"a\" 1}", .unexpectedByte(UInt8(ascii: "1"))),
        ("{1:1}", .unexpectedByte(UInt8(ascii: "1"))),
        ("[1 2]", .unexpectedByte(UInt8(ascii: "2"))),
        ("tru", .unexpectedEnd),
        ("nul", .unexpectedEnd),
        ("True", .unexpectedByte(UInt8(ascii: "T"))),
        ("NaN", .unexpectedByte(UInt8(ascii: "N"))),
        ("[Infinity]", .unexpectedByte(UInt8(ascii: "I"))),
        ("01", .trailingData),
        ("-01", .trailingData),
        ("1 2", .trailingData),
        ("[] []", .trailingData),
        ("+1", .unexpectedByte(UInt8(ascii: "+"))),
        (".5", .unexpectedByte(UInt8(ascii: "."))),
        ("1.", .invalidNumber),
        ("1.e3", .invalidNumber),
        ("1e", .invalidNumber),
        ("1e+", .invalidNumber),
        ("-", .invalidNumber),
        ("-a", .invalidNumber),
        ("[0x1]", .unexpectedByte(UInt8(ascii: "x"))),
        ("\"\\x\"", .invalidEscape),
        ("\"\\u12\"", .invalidEscape),
        ("\"\\u12G4\"", .invalidEscape),
        ("\"\\U0041\"", .invalidEscape),
        ("\"\\uD800\"", .unpairedSurrogate),
        ("\"\\uD800x\"", .unpairedSurrogate),
        ("\"\\uD800\\n\"", .unpairedSurrogate),
        ("\"\\uD800\\uD800\"", .unpairedSurrogate),
        ("\"\\uDC00\"", .unpairedSurrogate),
        ("\"\\uDFFF\\uD800\"", .unpairedSurrogate),
        ("\"a\tb\"", .controlCharacterInString),
        ("\"a\nb\"", .controlCharacterInString),
        ("[1]\u{0}", .trailingData),
        ("\u{FEFF}[]", .unexpectedByte(0xEF)),
        ("[\u{0C}]", .unexpectedByte(0x0C)),
        ("/* c */ []", .unexpectedByte(UInt8(ascii: "/"))),
    ])
    func refusesInvalidTexts(_ text: String, _ expected: JSONParseError.Reason) {
        #expect(reason(text) == expected, "\(text.debugDescription)")
    }

    @Test(arguments: [
        [0x22, 0xC0, 0xAF, 0x22],              // overlong '/'
        [0x22, 0xE0, 0x80, 0xAF, 0x22],        // overlong, three bytes
        [0x22, 0xED, 0xA0, 0x80, 0x22],        // an encoded surrogate (U+D800)
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
        [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22],
        [0x22, 0x80, 0x22],                    // a lone continuation byte
        [0x22, 0xC3, 0x22],                    // a truncated sequence
        [0x22, 0xE2, 0x82, 0x22],
        [0x22, 0xFF, 0x22],
        [0x22, 0xC3],                          // truncated at the end of the text
    ] as [[UInt8]])
    func refusesMalformedUTF8(_ bytes: [UInt8]) {
        #expect(reason(bytes) == .invalidUTF8, "\(bytes)")
    }

    @Test func errorsCarryTheOffset() {
        #expect(throws: JSONParseError(.unexpectedByte(UInt8(ascii: "]")), at: 3)) { try parse("[1,]") }
        #expect(throws: JSONParseError(.trailingData, at: 3)) { try parse("[] x") }
        #expect(throws: JSONParseError(.unpairedSurrogate, at: 2)) { try parse("\"a\\uDC00\"") }
        #expect(JSONParseError(.tooDeep, at: 7).description == "JSON nested too deeply at byte 7")
    }

    // MARK: - Strings

    @Test func escapesDecodeToTheirCharacters() throws {
        #expect(try parse(#""\uD83D\uDE00 \u00e9\u20AC \/ \"q\" \\""#) == .string("😀 é€ / \"q\" \\"))
        #expect(try parse(#""\u0000\b\f\n\r\t""#) == .string("\u{0}\u{8}\u{C}\n\r\t"))
        #expect(try parse(#""\ud834\udd1e""#) == .string("𝄞"))
        // Raw UTF-8 and escapes mixed, fast path and slow path.
        #expect(try parse("\"ab\\ncd€\"") == .string("ab\ncd€"))
        #expect(try parse("\"plain\"") == .string("plain"))
    }

    @Test func serializerEscapesOnlyWhatRFC8259Requires() {
        let value = JSONValue.string("q\"b\\s/n\nr\rt\tb\u{8}f\u{C}z\u{0}o\u{1F}d\u{7F}é😀")
        #expect(value.text == #""q\"b\\s/n\nr\rt\tb\bf\fz\u0000o\u001fd"# + "\u{7F}é😀\"")
    }

    // MARK: - Numbers

    @Test func numbersKeepTheirLiteralText() throws {
        let huge = "123456789012345678901234567890.12345678901234567890e-5"
        let value = try parse("[\(huge),-0,1E+2,0.10]")
        #expect(value == .array([.number(huge), .number("-0"), .number("1E+2"), .number("0.10")]))
        #expect(value.text == "[\(huge),-0,1E+2,0.10]")
        // Beyond Int64 and Double: still exact through a round trip.
        let big = "-98765432109876543210987654321098765432109876543210"
        #expect(try parse(big).text == big)
        #expect(try parse("1e400").doubleValue == nil)
        #expect(try parse("1e400").text == "1e400")
    }

    @Test func numericAccessors() throws {
        #expect(try parse("9223372036854775807").int64Value == Int64.max)
        #expect(try parse("-9223372036854775808").int64Value == Int64.min)
        #expect(try parse("9223372036854775808").int64Value == nil)
        #expect(try parse("12.000").int64Value == 12)
        #expect(try parse("1e3").int64Value == 1000)
        #expect(try parse("1.5").int64Value == nil)
        #expect(try parse("1.5").doubleValue == 1.5)
        #expect(try parse("-2.5e-3").doubleValue == -0.0025)
        #expect(JSONValue.string("1").int64Value == nil)
        #expect(JSONValue(integer: -42) == .number("-42"))
        #expect(JSONValue(double: 1.5) == .number("1.5"))
        #expect(JSONValue(double: 3) == .number("3"))
        #expect(JSONValue(double: .infinity) == nil)
        #expect(JSONValue(double: .nan) == nil)
        for d in [1e-7, 1e20, -123.25, 0.1, Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude] {
            let v = try #require(JSONValue(double: d))
            #expect(v.doubleValue == d, "\(v)")
        }
    }

    @Test(arguments: ["0", "-0", "1.25", "1e9", "-1E-9", "10"])
    func numberLiteralsAreRecognised(_ text: String) {
        #expect(JSONValue.isNumberLiteral(text))
    }

    @Test(arguments: ["", " 1", "1 ", "+1", "01", "1.", ".1", "1e", "0x10", "NaN", "1_000", "--1"])
    func nonLiteralsAreRefused(_ text: String) {
        #expect(!JSONValue.isNumberLiteral(text))
    }

    // MARK: - Objects

    @Test func duplicateKeysAreKeptInOrderAndTheLastOneWins() throws {
        let value = try parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(value["a"] == .number("3"))
        #expect(value.objectValue?.keys == ["a", "b", "a"])
        #expect(value.text == #"{"a":1,"b":2,"a":3}"#)
        var object = try #require(value.objectValue)
        object["a"] = "x"
        #expect(JSONValue.object(object).text == #"{"a":1,"b":2,"a":"x"}"#)
        object["c"] = true
        object["b"] = nil
        #expect(JSONValue.object(object).text == #"{"a":1,"a":"x","c":true}"#)
    }

    @Test func accessorsAnswerNilForTheWrongShape() throws {
        let value = try parse(#"{"s":"x","n":1,"b":false,"z":null,"a":[1,{"k":"v"}],"o":{}}"#)
        #expect(value["s"]?.stringValue == "x")
        #expect(value["n"]?.stringValue == nil)
        #expect(value["b"]?.boolValue == false)
        #expect(value["z"]?.isNull == true)
        #expect(value["s"]?.isNull == false)
        #expect(value["a"]?[1]?["k"]?.stringValue == "v")
        #expect(value["a"]?[2] == nil)
        #expect(value["a"]?[-1] == nil)
        #expect(value["a"]?.arrayValue?.count == 2)
        #expect(value["o"]?.objectValue?.isEmpty == true)
        #expect(value["missing"] == nil)
        #expect(value[0] == nil)
        #expect(value["s"]?["x"] == nil)
    }

    // MARK: - Depth

    @Test func nestingDeeperThanMaxDepthIsRefused() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try parse(ok) }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError(.tooDeep, at: 64)) { try parse(deep) }
        #expect(reason("{\"a\":{\"a\":1}}".utf8.map { $0 }, maxDepth: 1) == .tooDeep)
        #expect(reason("1".utf8.map { $0 }, maxDepth: 0) == nil)
        #expect(reason("[]".utf8.map { $0 }, maxDepth: 0) == .tooDeep)
    }

    @Test func aMillionOpenBracketsCostAThrowNotTheStack() {
        // Refused at the limit: the parser never recurses, so even a huge depth limit is safe.
        let hostile = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(reason(hostile) == .tooDeep)
        #expect(reason(hostile, maxDepth: 2_000_000) == .unexpectedEnd)
        let objects = Array(String(repeating: "{\"a\":", count: 200_000).utf8)
        #expect(reason(objects, maxDepth: 1_000_000) == .unexpectedEnd)
    }

    // MARK: - Round trips

    @Test func randomValuesRoundTrip() throws {
        var rng = SplitMix64(seed: TestSeed.value(for: "JSONValueTests.randomValuesRoundTrip"))
        for _ in 0..<300 {
            let value = randomValue(&rng, depth: 0)
            let bytes = value.serialized
            let back = try JSONValue.parse(bytes)
            #expect(back == value, "\(value.text)")
            #expect(back.serialized == bytes)
            // Foundation agrees the text is JSON.
            #expect((try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil,
                    "\(value.text)")
        }
    }

    @Test func literalsBuildValues() {
        let value: JSONValue = ["a": [1, "two", true, nil], "b": ["c": -3]]
        #expect(value.text == #"{"a":[1,"two",true,null],"b":{"c":-3}}"#)
    }

    private func randomValue(_ rng: inout SplitMix64, depth: Int) -> JSONValue {
        let pick = depth > 4 ? rng.next() % 4 : rng.next() % 6
        switch pick {
        case 0: return .null
        case 1: return .bool(rng.next() % 2 == 0)
        case 2:
            let numbers = ["0", "-0", "1", "-12.5", "3e10", "1E-7", "123456789012345678901234567890", "0.000001"]
            return .number(numbers[Int(rng.next() % UInt64(numbers.count))])
        case 3: return .string(randomString(&rng))
        case 4: return .array((0..<Int(rng.next() % 5)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var object = JSONObject()
            for _ in 0..<Int(rng.next() % 5) {
                // Small key alphabet so duplicates happen.
                object.append(key: ["a", "b", "", "é"][Int(rng.next() % 4)], value: randomValue(&rng, depth: depth + 1))
            }
            return .object(object)
        }
    }

    private func randomString(_ rng: inout SplitMix64) -> String {
        let pool: [Unicode.Scalar] = ["a", "\"", "\\", "/", "\n", "\u{0}", "\u{1F}", "\u{7F}", "é", "€", "😀", "\u{FFFF}", " "]
        var s = ""
        for _ in 0..<Int(rng.next() % 12) { s.unicodeScalars.append(pool[Int(rng.next() % UInt64(pool.count))]) }
        return s
    }
}
