// SPDX-License-Identifier: Apache-2.0
// FIPS 180-4 / NIST example vectors, plus the hex and constant-time helpers.
import Testing
import TollgateCore

@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
        ("The quick brown fox jumps over the lazy dog",
         "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"),
    ])
    func vector(_ input: String, _ expected: String) {
        #expect(SHA256.hex(SHA256.hash(Array(input.utf8))) == expected)
        #expect(SHA256.hex(SHA256.hash(utf8: input)) == expected)
    }

    @Test func oneMillionA() {
        let digest = SHA256.hash(repeatElement(UInt8(ascii: "a"), count: 1_000_000))
        #expect(SHA256.hex(digest) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Messages of 55, 56, 63, 64 and 65 bytes cross the padding boundaries.
    @Test(arguments: [
        (55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
        (64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        (65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
    ])
    func paddingBoundaries(_ length: Int, _ expected: String) {
        // Both paths: a non-contiguous collection (copied) and an Array (read in place).
        #expect(SHA256.hex(SHA256.hash(repeatElement(UInt8(ascii: "a"), count: length))) == expected)
        #expect(SHA256.hex(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: length))) == expected)
        #expect(SHA256.hex(SHA256.hash(utf8: String(repeating: "a", count: length))) == expected)
    }

    @Test func multiBlockInPlace() {
        // 1,000,000 bytes from an Array: many full blocks read in place, then the tail.
        let digest = SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
        #expect(SHA256.hex(digest) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func digestIs32Bytes() {
        #expect(SHA256.hash([UInt8]()).count == 32)
    }

    @Test func hexRoundTrip() {
        let bytes: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xab, 0xff]
        #expect(SHA256.hex(bytes) == "00017f80abff")
        #expect(SHA256.bytes(fromHex: "00017F80abFF") == bytes)
        #expect(SHA256.bytes(fromHex: "abc") == nil)
        #expect(SHA256.bytes(fromHex: "zz") == nil)
        #expect(SHA256.bytes(fromHex: "") == [])
    }

    @Test func constantTimeEquality() {
        let a = SHA256.hash(utf8: "key-a")
        let b = SHA256.hash(utf8: "key-b")
        #expect(ConstantTime.equals(a, a))
        #expect(!ConstantTime.equals(a, b))
        #expect(!ConstantTime.equals(a, Array(a.dropLast())))
        #expect(!ConstantTime.equals([], [0]))
        #expect(ConstantTime.equals([], []))
        var lastDiffers = a
        lastDiffers[31] ^= 1
        #expect(!ConstantTime.equals(a, lastDiffers))
    }
}
