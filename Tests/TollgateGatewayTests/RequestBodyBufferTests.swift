// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import TollgateGateway
import TollgateIO
import TollgateCore

struct RequestBodyBufferTests {
    @Test func holdsWhatWasAppendedAndDropsTheFrontSegmentBySegment() {
        var generator = SplitMix64(seed: 7)
        var buffer = RequestBodyBuffer(expected: nil)
        var reference: [UInt8] = []
        var dropped = 0
        for _ in 0..<400 {
            let size = Int(generator.next() % 20_000)
            let piece = (0..<size).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            _ = piece.withUnsafeBytes { buffer.append($0) }
            reference += piece
            if generator.next() % 3 == 0 {
                let n = Int(generator.next() % UInt64(buffer.count + 1))
                buffer.removeFirst(n)
                dropped += n
            }
            #expect(buffer.count == reference.count - dropped)
            // Memory follows what is held: at most one partly used segment at each end.
            #expect(buffer.allocatedBytes <= buffer.count + 2 * RequestBodyBuffer.segmentSize)
        }
        #expect(buffer.contiguous() == Array(reference[dropped...]))
        var middle = [UInt8](repeating: 0, count: 1000)
        let offset = buffer.count / 3
        let copied = middle.withUnsafeMutableBytes { buffer.copy(from: offset, count: 1000, to: $0.baseAddress!) }
        #expect(copied == 1000)
        #expect(middle == Array(reference[(dropped + offset)..<(dropped + offset + 1000)]))
    }

    @Test func aSmallDeclaredBodyTakesOneExactAllocation() {
        var buffer = RequestBodyBuffer(expected: 300)
        let bytes = [UInt8](repeating: 1, count: 300)
        _ = bytes.withUnsafeBytes { buffer.append($0) }
        #expect(buffer.allocatedBytes < 1024)
        #expect(buffer.contiguous() == bytes)
    }

    @Test func askingForMoreThanIsHeldCopiesWhatIsThere() {
        var buffer = RequestBodyBuffer(expected: 10)
        _ = [UInt8](repeating: 9, count: 10).withUnsafeBytes { buffer.append($0) }
        var out = [UInt8](repeating: 0, count: 50)
        #expect(out.withUnsafeMutableBytes { buffer.copy(from: 5, count: 50, to: $0.baseAddress!) } == 5)
        buffer.removeFirst(100)
        #expect(buffer.count == 0)
    }
}
