// SPDX-License-Identifier: Apache-2.0
// A request body held in memory as a chain of segments (nginx's buffer chains), not one
// growing array: appending never copies what is already held (an array doubling from 16 to
// 32 MiB briefly holds 48), and the front is dropped segment by segment as the upstream takes
// it, so memory follows what is held — which is what `server.max_buffered` counts.
//
// Segments after the first are mapped with mmap(2) and unmapped when dropped: from malloc,
// freed body memory would stay in the freeing thread's arena (glibc keeps one per loop thread),
// and the process would keep each loop's own peak rather than the budget's.
import Glibc

struct RequestBodyBuffer {
    /// Size of the mapped segments after the first.
    static let segmentSize = 256 << 10
    /// The first segment, from malloc, fits a small body exactly (most requests).
    static let firstSegmentLimit = 64 << 10

    /// One allocation of the chain.
    final class Segment {
        let base: UnsafeMutableRawPointer
        let capacity: Int
        var count = 0
        private let isMapped: Bool

        init?(capacity: Int, mapped: Bool) {
            if mapped {
                guard let region = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                      region != MAP_FAILED else { return nil }
                base = region
            } else {
                base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            }
            self.capacity = capacity
            self.isMapped = mapped
        }

        deinit {
            if isMapped { munmap(base, capacity) } else { base.deallocate() }
        }
    }

    private var segments: [Segment] = []
    /// Bytes of `segments[0]` already dropped.
    private var headOffset = 0
    /// Bytes held (appended and not dropped).
    private(set) var count = 0
    private let firstSegment: Int

    /// `expected`: the declared length when known (a small body then takes one allocation).
    init(expected: Int?) {
        firstSegment = min(max(expected ?? 4096, 1), Self.firstSegmentLimit)
    }

    /// Bytes allocated for what is held (what the process really spends on it).
    var allocatedBytes: Int { segments.reduce(0) { $0 + $1.capacity } }

    /// Appends `bytes`; false (nothing appended) only if memory for a new segment cannot be
    /// mapped.
    @discardableResult
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var rest = bytes
        while !rest.isEmpty {
            if segments.last.map({ $0.count == $0.capacity }) ?? true {
                // Nothing held (segments go only when everything was dropped): a small first one.
                let isFirst = segments.isEmpty
                guard let segment = Segment(capacity: isFirst ? firstSegment : Self.segmentSize, mapped: !isFirst) else {
                    return false
                }
                segments.append(segment)
            }
            let last = segments[segments.count - 1]
            let n = min(last.capacity - last.count, rest.count)
            (last.base + last.count).copyMemory(from: rest.baseAddress!, byteCount: n)
            last.count += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            count += n
        }
        return true
    }

    /// Copies up to `length` held bytes starting `offset` bytes after the first held one;
    /// returns how many it copied (fewer only if asked for more than is held).
    @discardableResult
    func copy(from offset: Int, count length: Int, to destination: UnsafeMutableRawPointer) -> Int {
        let length = max(min(length, count - offset), 0)
        guard offset >= 0, length > 0 else { return 0 }
        var skip = offset + headOffset
        var written = 0
        for segment in segments where written < length {
            if skip >= segment.count {
                skip -= segment.count
                continue
            }
            let n = min(segment.count - skip, length - written)
            (destination + written).copyMemory(from: segment.base + skip, byteCount: n)
            written += n
            skip = 0
        }
        return written
    }

    /// Drops the first `n` held bytes; segments wholly dropped are freed.
    mutating func removeFirst(_ n: Int) {
        let n = max(min(n, count), 0)
        count -= n
        if count == 0 {
            segments.removeAll()
            headOffset = 0
            return
        }
        var drop = n + headOffset
        var freed = 0
        while freed < segments.count - 1 && drop >= segments[freed].count {
            drop -= segments[freed].count
            freed += 1
        }
        if freed > 0 { segments.removeFirst(freed) }
        headOffset = drop
    }

    /// The held bytes as one array (small bodies handed whole to an adapter).
    func contiguous() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { copy(from: 0, count: count, to: UnsafeMutableRawPointer(buffer.baseAddress!)) }
            initialized = count
        }
    }
}
