// SPDX-License-Identifier: Apache-2.0
// A growable byte buffer with read and write indices (swift-nio's ByteBuffer, much reduced). It
// is noncopyable, so the memory has exactly one owner and is freed once; storage is allocated
// only when first written, so an idle keep-alive connection holds none.

public struct ByteBuffer: ~Copyable {
    private var base: UnsafeMutableRawPointer?
    public private(set) var capacity = 0
    private var readIndex = 0
    private var writeIndex = 0

    public init() {}

    deinit {
        base?.deallocate()
    }

    public var readableCount: Int { writeIndex - readIndex }
    public var isEmpty: Bool { writeIndex == readIndex }

    /// The unread bytes; valid until the next mutation.
    public var readable: UnsafeRawBufferPointer {
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + readIndex, count: writeIndex - readIndex)
    }

    /// Marks `count` unread bytes as read. When everything is read the indices reset, so the
    /// next write starts at the front without a copy.
    public mutating func consume(_ count: Int) {
        precondition(count <= readableCount)
        readIndex += count
        if readIndex == writeIndex {
            readIndex = 0
            writeIndex = 0
        }
    }

    /// Drops all bytes and, if the storage grew beyond `keep` bytes, frees it.
    public mutating func clear(keepingUpTo keep: Int = 0) {
        readIndex = 0
        writeIndex = 0
        if capacity > keep {
            base?.deallocate()
            base = nil
            capacity = 0
        }
    }

    /// Makes room for at least `count` more bytes after the unread ones.
    public mutating func reserveWritable(_ count: Int) {
        if capacity - writeIndex >= count { return }
        let unread = readableCount
        if readIndex > 0 && capacity - unread >= count {
            if unread > 0 { base!.copyMemory(from: base! + readIndex, byteCount: unread) }
            readIndex = 0
            writeIndex = unread
            return
        }
        var newCapacity = max(capacity * 2, 1024)
        while newCapacity - unread < count { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if unread > 0 { newBase.copyMemory(from: base! + readIndex, byteCount: unread) }
        base?.deallocate()
        base = newBase
        capacity = newCapacity
        readIndex = 0
        writeIndex = unread
    }

    /// Lets `body` write up to `count` bytes at the end; it returns how many it wrote.
    public mutating func writeWithUnsafeMutableBytes<Failure: Error>(
        minimumWritable count: Int, _ body: (UnsafeMutableRawBufferPointer) throws(Failure) -> Int
    ) throws(Failure) -> Int {
        reserveWritable(count)
        let region = UnsafeMutableRawBufferPointer(start: base! + writeIndex, count: capacity - writeIndex)
        let written = try body(region)
        precondition(written >= 0 && written <= region.count)
        writeIndex += written
        return written
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserveWritable(bytes.count)
        (base! + writeIndex).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        writeIndex += bytes.count
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    public mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    public mutating func append(string: String) {
        var copy = string
        copy.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    public mutating func append(byte: UInt8) {
        reserveWritable(1)
        base!.storeBytes(of: byte, toByteOffset: writeIndex, as: UInt8.self)
        writeIndex += 1
    }

    /// Appends a non-negative integer in decimal without allocating.
    public mutating func append(decimal value: Int) {
        precondition(value >= 0)
        reserveWritable(20)
        var digits = 1
        var rest = value / 10
        while rest > 0 { digits += 1; rest /= 10 }
        var v = value
        var i = digits - 1
        let p = base! + writeIndex
        while i >= 0 {
            p.storeBytes(of: UInt8(0x30 + v % 10), toByteOffset: i, as: UInt8.self)
            v /= 10
            i -= 1
        }
        writeIndex += digits
    }

    /// Appends `value` in lower-case hex, without leading zeros (chunk sizes) or padded.
    public mutating func append(hex value: UInt64, width: Int = 0) {
        reserveWritable(16)
        var digits = 1
        var rest = value >> 4
        while rest > 0 { digits += 1; rest >>= 4 }
        digits = max(digits, width)
        let p = base! + writeIndex
        var v = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            let nibble = UInt8(v & 0xF)
            p.storeBytes(of: nibble < 10 ? 0x30 + nibble : 0x57 + nibble, toByteOffset: i, as: UInt8.self)
            v >>= 4
        }
        writeIndex += digits
    }
}
