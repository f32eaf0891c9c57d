// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import TollgateCore


@Suite struct JSONTextTests {
    private func escaped(_ text: String) -> String {
        var buffer = ByteBuffer()
        JSONText.appendEscaped(text, to: &buffer)
        return String(decoding: buffer.readable, as: UTF8.self)
    }

    @Test func plainTextIsCopiedAsIs() {
        #expect(escaped("") == "")
        #expect(escaped("gpt-4o/mini é ✓") == "gpt-4o/mini é ✓")
    }

    @Test func specialBytesAreEscapedBetweenRuns() {
        #expect(escaped("a\"b\\c\nd\re\tf") == #"a\"b\\c\nd\re\tf"#)
        #expect(escaped("\"") == #"\""#)
        #expect(escaped("x\u{01}\u{7F}").lowercased() == #"x\u0001\u007f"#)
    }

    @Test func everyEscapedStringDecodesBackToTheOriginal() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let scalars = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                Character(Unicode.Scalar(UInt8.random(in: 0...0x7F, using: &generator)))
            }
            let original = String(scalars) + (Bool.random(using: &generator) ? "é✓" : "")
            let json = Data("\"\(escaped(original))\"".utf8)
            let decoded = try JSONSerialization.jsonObject(with: json, options: [.fragmentsAllowed]) as? String
            #expect(decoded == original)
        }
    }
}
