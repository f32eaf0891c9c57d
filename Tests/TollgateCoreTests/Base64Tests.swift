// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TollgateTestSupport
@testable import TollgateCore

@Suite struct Base64Tests {
    // RFC 4648 §10.
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test func rfc4648Vectors() {
        for (plain, encoded) in Self.vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
            // Without its padding too.
            #expect(Base64.decode(String(encoded.prefix { $0 != "=" })) == Array(plain.utf8))
        }
    }

    @Test func allByteValuesUseTheStandardAlphabet() {
        let bytes = (0...255).map { UInt8($0) }
        let encoded = Base64.encode(bytes)
        #expect(encoded == Data(bytes).base64EncodedString())
        #expect(encoded.contains("+") && encoded.contains("/"))
        #expect(Base64.decode(encoded) == bytes)
    }

    @Test(arguments: [
        "Zm9v YmFy", "Zm9v\nYmFy", "Zm9v-_", "Zm9vY", "Z", "Zm9vYg===", "Zm9vY===", "Zm9vYmFy=", "Zm9vYmFy====",
        "Zg=a", "Z=g=", "=Zg=", "Zm9vYg=", "Zm8==", "Zm9v!", "Zm9vYmFy\u{0}", "é",
    ])
    func junkIsRefused(_ text: String) {
        #expect(Base64.decode(text) == nil, "\(text.debugDescription)")
    }

    @Test func randomBytesMatchFoundation() {
        var rng = SplitMix64(seed: TestSeed.value(for: "Base64Tests.randomBytesMatchFoundation"))
        for _ in 0..<300 {
            let bytes = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let encoded = Base64.encode(bytes)
            #expect(encoded == Data(bytes).base64EncodedString())
            #expect(Base64.decode(encoded) == bytes)
        }
    }

    @Test func theStreamingEncoderMatchesEncodeForAnySplit() {
        var rng = SplitMix64(seed: TestSeed.value(for: "Base64Tests.streamingSplits"))
        for _ in 0..<300 {
            let bytes = (0..<Int(rng.next() % 100)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var cuts: [Int] = []
            if !bytes.isEmpty {
                cuts = (0..<Int(rng.next() % 8)).map { _ in Int(rng.next() % UInt64(bytes.count + 1)) }.sorted()
            }
            var encoder = Base64Encoder()
            var out: [UInt8] = []
            Pieces.feed(bytes, cuts: cuts) { piece, _ in encoder.encode(piece, into: &out) }
            encoder.finish(into: &out)
            #expect(String(decoding: out, as: UTF8.self) == Base64.encode(bytes), "cuts \(cuts) of \(bytes.count)")
        }
    }

    @Test func byteByByteAndReuseAfterFinish() {
        var encoder = Base64Encoder()
        for (plain, encoded) in Self.vectors {
            var out: [UInt8] = []
            for b in plain.utf8 { encoder.encode([b], into: &out) }
            encoder.finish(into: &out)
            #expect(String(decoding: out, as: UTF8.self) == encoded)
        }
    }
}
