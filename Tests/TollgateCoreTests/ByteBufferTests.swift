// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import TollgateCore

struct ByteBufferTests {
    @Test func appendConsumeAndCompact() {
        var buffer = ByteBuffer()
        let startsEmpty = buffer.isEmpty && buffer.capacity == 0
        #expect(startsEmpty)
        buffer.append("hello ")
        buffer.append(decimal: 12345)
        buffer.append(byte: 0x20)
        buffer.append(hex: 0xbeef)
        buffer.append(hex: 0x2a, width: 4)
        #expect(String(decoding: buffer.readable, as: UTF8.self) == "hello 12345 beef002a")
        buffer.consume(6)
        #expect(String(decoding: buffer.readable, as: UTF8.self) == "12345 beef002a")
        buffer.consume(buffer.readableCount)
        let drained = buffer.isEmpty
        #expect(drained)
        let big = [UInt8](repeating: 7, count: 5000)
        buffer.append(big)
        let (count, capacity) = (buffer.readableCount, buffer.capacity)
        #expect(count == 5000 && capacity >= 5000)
        buffer.clear(keepingUpTo: 1024)
        let released = buffer.capacity
        #expect(released == 0)
    }
}
