// SPDX-License-Identifier: Apache-2.0
// The response headers an adapter wants from its upstream (SPEC §3's allowlist is the
// adapter's to apply, not the transport's): every other header is skipped by the transfer
// without ever becoming a String. Built once per adapter.

public struct UpstreamHeaderAllowlist: Sendable {
    /// Lowercase names, and their bytes for a case-insensitive match against the raw line.
    private let names: [String]
    private let bytes: [[UInt8]]

    /// - Parameter names: header names; matched case-insensitively.
    public init(_ names: [String]) {
        self.names = names.map { $0.lowercased() }
        bytes = self.names.map { Array($0.utf8) }
    }

    public static let none = UpstreamHeaderAllowlist([])

    var count: Int { names.count }

    /// The lowercase name of entry `index` (from `match`).
    func name(at index: Int) -> String { names[index] }

    /// The index of the entry `raw` (a header name as received) is, if on the list. Most names
    /// a server sends are not: the length and then the first byte rule them out before any
    /// byte-by-byte compare.
    func match(_ raw: UnsafeRawBufferPointer) -> Int? {
        guard let first = raw.first else { return nil }
        let lowered = Self.lower(first)
        for i in bytes.indices {
            let entry = bytes[i]
            guard entry.count == raw.count, entry[0] == lowered else { continue }
            if entry.withUnsafeBufferPointer({ Self.equalsLowercase(raw, $0) }) { return i }
        }
        return nil
    }

    /// Whether `raw` equals `lowercase` (all lowercase ASCII) ignoring ASCII case.
    static func equals(_ raw: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        equalsLowercase(raw, UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount))
    }

    private static func equalsLowercase(_ raw: UnsafeRawBufferPointer, _ lowercase: UnsafeBufferPointer<UInt8>) -> Bool {
        guard raw.count == lowercase.count else { return false }
        guard let a = raw.baseAddress, let b = lowercase.baseAddress else { return true }  // both empty
        for i in 0..<raw.count where lower(a.load(fromByteOffset: i, as: UInt8.self)) != b[i] { return false }
        return true
    }

    @inline(__always)
    private static func lower(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }
}
