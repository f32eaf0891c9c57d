// SPDX-License-Identifier: Apache-2.0
// A parsed request line and header section. The bytes are kept as received, followed in the
// same array by the field table (ranges into them), so a head is one buffer: one allocation
// at most (reused across a connection's requests, see `HTTPRequestParser.storage`), one retain
// per copy, and values become Strings only when someone asks.
import Glibc

/// How the request body is delimited (RFC 9112 §6.3).
public enum HTTPBodyFraming: Equatable, Sendable {
    case none
    case length(Int)
    case chunked
}

/// One header field as ranges into `HTTPRequestHead.bytes`; stored after the head's bytes.
struct HTTPField: Sendable {
    let nameStart: Int32, nameEnd: Int32
    let valueStart: Int32, valueEnd: Int32

    static let size = MemoryLayout<HTTPField>.size
}

public struct HTTPRequestHead: Sendable {
    public let method: HTTPMethod
    /// 0 for HTTP/1.0, 1 for HTTP/1.1 (higher 1.x minors are handled as 1.1, RFC 9110 §2.5).
    public let minorVersion: Int
    /// Whether the connection may carry another request after this one.
    public internal(set) var keepAlive: Bool
    public let framing: HTTPBodyFraming
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    public let expectContinue: Bool

    /// The head as received (`headLength` bytes), then `headerCount` `HTTPField`s.
    let bytes: [UInt8]
    let headLength: Int
    public let headerCount: Int
    /// The target is `bytes[targetStart..<targetEnd]`, its path `bytes[targetStart..<pathEnd]`.
    let targetStart: Int, pathEnd: Int, targetEnd: Int
    let authorizationIndex: Int
    let requestIDIndex: Int
    let contentTypeIndex: Int

    /// The request-target as sent (origin-form: path and query).
    public var target: String { string(targetStart, targetEnd) }

    /// The path without the query.
    public var path: String {
        string(targetStart, pathEnd)
    }

    /// The query string after `?`, if any.
    public var query: String? {
        let end = pathEnd
        return end < targetEnd ? string(end + 1, targetEnd) : nil
    }

    /// Compares the path (query excluded) with `candidate` without allocating.
    public func pathEquals(_ candidate: StaticString) -> Bool {
        let n = candidate.utf8CodeUnitCount
        return pathEnd - targetStart == n && pathBytesStart(with: candidate, count: n)
    }

    /// True when the path starts with `prefix`.
    public func pathHasPrefix(_ prefix: StaticString) -> Bool {
        let n = prefix.utf8CodeUnitCount
        return pathEnd - targetStart >= n && pathBytesStart(with: prefix, count: n)
    }

    /// Whether the path's first `n` bytes (the caller checked it has as many) are `text`'s.
    private func pathBytesStart(with text: StaticString, count n: Int) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return n == 0 }
            return memcmp(base + targetStart, text.utf8Start, n) == 0
        }
    }

    /// The i-th field's ranges (`i` in 0..<headerCount: a bad index traps like an array's).
    func field(_ i: Int) -> HTTPField {
        precondition(i >= 0 && i < headerCount, "header index out of range")
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: headLength + i * HTTPField.size, as: HTTPField.self) }
    }

    /// The i-th header as (name, value) Strings, in the order received.
    public func header(at i: Int) -> (name: String, value: String) {
        let f = field(i)
        return (string(Int(f.nameStart), Int(f.nameEnd)), string(Int(f.valueStart), Int(f.valueEnd)))
    }

    /// The first value of the header named `lowercaseName` (names compare case-insensitively).
    public func value(of lowercaseName: String) -> String? {
        for i in 0..<headerCount {
            let f = field(i)
            if hasName(f, lowercaseName) { return string(Int(f.valueStart), Int(f.valueEnd)) }
        }
        return nil
    }

    /// Every value of the header named `lowercaseName`, joined with ", " in the order received
    /// (a recipient may combine repeated fields so: RFC 9110 §5.3); nil when absent.
    public func combinedValue(of lowercaseName: String) -> String? {
        var result: String?
        for i in 0..<headerCount {
            let f = field(i)
            guard hasName(f, lowercaseName) else { continue }
            let value = string(Int(f.valueStart), Int(f.valueEnd))
            result = result.map { "\($0), \(value)" } ?? value
        }
        return result
    }

    /// Whether field `f` is named `lowercaseName` (compared case-insensitively, no allocation).
    private func hasName(_ f: HTTPField, _ lowercaseName: String) -> Bool {
        let start = Int(f.nameStart)
        guard Int(f.nameEnd) - start == lowercaseName.utf8.count else { return false }
        var j = start
        for c in lowercaseName.utf8 {
            guard HTTPBytes.lower(bytes[j]) == c else { return false }
            j += 1
        }
        return true
    }

    public var authorization: String? { value(at: authorizationIndex) }
    public var requestID: String? { value(at: requestIDIndex) }
    public var contentType: String? { value(at: contentTypeIndex) }

    /// Raw value bytes of the client's `x-request-id`, for echoing without a String detour.
    public func withRequestIDBytes<R>(_ body: (UnsafeRawBufferPointer?) -> R) -> R {
        withValueBytes(at: requestIDIndex, body)
    }

    /// Raw value bytes of `Authorization`, to compare with a credential already verified.
    public func withAuthorizationBytes<R>(_ body: (UnsafeRawBufferPointer?) -> R) -> R {
        withValueBytes(at: authorizationIndex, body)
    }

    private func withValueBytes<R>(at index: Int, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard index >= 0 else { return body(nil) }
        let f = field(index)
        return bytes.withUnsafeBytes { raw in
            body(UnsafeRawBufferPointer(rebasing: raw[Int(f.valueStart)..<Int(f.valueEnd)]))
        }
    }

    private func value(at index: Int) -> String? {
        guard index >= 0 else { return nil }
        let f = field(index)
        return string(Int(f.valueStart), Int(f.valueEnd))
    }

    private func string(_ start: Int, _ end: Int) -> String {
        bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) }
    }
}
