// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateTestSupport
@testable import TollgateGateway

struct SecretRedactorTests {
    private let redactor = SecretRedactor(secrets: ["sk-live-abc123", "sk-live-abc123456", "ab/cd+ef", "short"])

    @Test func everySecretIsReplacedAndShortValuesAreNotSecrets() {
        #expect(redactor.redact("Authorization: Bearer sk-live-abc123456 and sk-live-abc123.")
                == "Authorization: Bearer [redacted] and [redacted].")
        #expect(redactor.redact("a short note") == "a short note")
    }

    @Test func jsonEscapedFormsAreReplacedToo() {
        #expect(redactor.redact(#"{"message":"key ab\/cd+ef"}"#) == #"{"message":"key [redacted]"}"#)
    }

    /// A stream split anywhere — including inside a secret — never lets a secret through.
    @Test func aSecretSplitAcrossChunksIsReplaced() {
        let text = Array("x sk-live-abc123456 y sk-live-abc123 z sk-live-ab".utf8)
        for size in 1...text.count {
            var carry: [UInt8] = []
            var out: [UInt8] = []
            Pieces.feed(text, size: size) { piece, _ in
                out += redactor.redact(piece, carry: &carry, final: false)
                #expect(carry.count < "sk-live-abc123456".utf8.count)
            }
            out += redactor.redact(UnsafeRawBufferPointer(start: nil, count: 0), carry: &carry, final: true)
            #expect(String(decoding: out, as: UTF8.self) == "x [redacted] y [redacted] z sk-live-ab", "size \(size)")
        }
    }

    @Test func noSecretsPassesTextThrough() {
        var carry: [UInt8] = []
        let out = Array("abc".utf8).withUnsafeBytes { SecretRedactor.none.redact($0, carry: &carry, final: false) }
        #expect(out == Array("abc".utf8) && carry.isEmpty)
    }
}
