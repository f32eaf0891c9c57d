// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import TollgateCore

struct RequestIDTests {
    @Test func formatsAs24HexDigits() {
        #expect(RequestID(prefix: 0xabc, counter: 0x1f).description == "0000000000000abc0000001f")
        #expect(RequestID(prefix: .max, counter: .max).description == "ffffffffffffffffffffffff")
    }

    @Test func generatorCountsUpUnderOnePrefix() {
        var generator = RequestIDGenerator()
        let a = generator.next(), b = generator.next()
        #expect(a.prefix == b.prefix && b.counter == a.counter + 1)
    }

    @Test func counterWrapDrawsANewPrefixNeverARepeat() {
        var generator = RequestIDGenerator(prefix: 42, counter: .max - 1)
        let last = generator.next()
        #expect(last.prefix == 42 && last.counter == .max)
        let wrapped = generator.next()
        #expect(wrapped.prefix != 42)
        #expect(wrapped.counter == 1)
        #expect(wrapped != last)
    }

    @Test func jsonQuotingEscapesControlsQuotesAndBackslashes() {
        #expect(JSONText.quoted("a\"b\\c\n\u{01}é") == #""a\"b\\c\n\u0001é""#)
    }
}
