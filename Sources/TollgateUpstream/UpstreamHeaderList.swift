// SPDX-License-Identifier: Apache-2.0
// A backend's fixed request headers as a libcurl string list, built once when the backend is
// set up instead of once per request. Per-request headers (X-Request-ID, Accept) become nodes
// of their own in front of it (UpstreamTransfer): CURLOPT_HTTPHEADER only reads the list, and
// the list must stay valid until the transfer is removed (CURLOPT_HTTPHEADER.md), which the
// transfer guarantees by holding this object.
import CCurl
import Glibc
import TollgateCore

public final class UpstreamHeaderList: @unchecked Sendable {
    /// Immutable after init; only curl reads it, on any loop.
    let head: UnsafeMutablePointer<curl_slist>?

    /// `headers` as "Name: value" lines, then "Expect:" so curl never adds
    /// "Expect: 100-continue" to a large body and waits for the interim response.
    public init(_ headers: [(String, String)]) {
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers {
            list = curl_slist_append(list, "\(name): \(value)")
        }
        head = curl_slist_append(list, "Expect:")
    }

    deinit {
        curl_slist_free_all(head)
    }
}

/// The nodes of one request's own headers, chained in front of a shared `UpstreamHeaderList`.
/// Node and text storage belong to the pooled easy handle (`CurlEasy`) and are reused by its
/// next transfer, so a request's headers cost no allocation once the handle has served one like
/// it. curl reads them until the transfer is removed (CURLOPT_HTTPHEADER.md); the next build
/// happens only after that.
struct RequestHeaderNodes {
    private(set) var head: UnsafeMutablePointer<curl_slist>?
    private var nodes: UnsafeMutablePointer<curl_slist>?
    private var nodeCapacity = 0
    private var text: UnsafeMutablePointer<UInt8>?
    private var textCapacity = 0
    private var count = 0
    private var used = 0
    /// Storage above these sizes is not kept by an idle handle.
    private static let keptNodes = 8, keptText = 1024

    /// Bytes one "name: value" line takes in the text storage (with its NUL).
    static func size(_ name: String, _ value: String) -> Int {
        size(name, valueLength: value.utf8.count)
    }

    static func size(_ name: String, valueLength: Int) -> Int {
        name.utf8.count + 2 + valueLength + 1
    }

    /// Makes room for `lines` lines of `bytes` bytes in all (see `size`); false without memory.
    mutating func start(lines: Int, bytes: Int) -> Bool {
        head = nil
        count = 0
        used = 0
        if lines > nodeCapacity {
            Glibc.free(nodes)
            nodes = Glibc.malloc(lines * MemoryLayout<curl_slist>.stride)?.bindMemory(to: curl_slist.self, capacity: lines)
            nodeCapacity = nodes == nil ? 0 : lines
        }
        if bytes > textCapacity {
            Glibc.free(text)
            text = Glibc.malloc(bytes)?.bindMemory(to: UInt8.self, capacity: bytes)
            textCapacity = text == nil ? 0 : bytes
        }
        return (lines == 0 || nodes != nil) && (bytes == 0 || text != nil)
    }

    /// Writes "name: value" as the next line (after `start` made room for it).
    mutating func add(_ name: String, _ value: String) {
        add(name, valueLength: value.utf8.count) { Self.copy(value, to: $0) }
    }

    /// Writes "name: <the id's 24 hex digits>" as the next line, with no String for the id.
    mutating func add(_ name: String, id: RequestID) {
        add(name, valueLength: RequestID.textLength) { at in
            id.writeHex(to: UnsafeMutableRawPointer(at))
            return at + RequestID.textLength
        }
    }

    /// Writes "name: " then `writeValue`'s bytes (exactly `valueLength` of them; it returns
    /// their end) and the NUL.
    private mutating func add(_ name: String, valueLength: Int,
                              _ writeValue: (UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8>) {
        guard let nodes, let text, count < nodeCapacity, used + Self.size(name, valueLength: valueLength) <= textCapacity else { return }
        let line = text + used
        var at = Self.copy(name, to: line)
        at.initialize(to: UInt8(ascii: ":"))
        (at + 1).initialize(to: UInt8(ascii: " "))
        at = writeValue(at + 2)
        at.initialize(to: 0)
        used = at + 1 - text
        (nodes + count).initialize(to: curl_slist(data: UnsafeMutableRawPointer(line).assumingMemoryBound(to: CChar.self), next: nil))
        count += 1
    }

    /// Copies the string's bytes to `at`; returns the end.
    private static func copy(_ string: String, to at: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        let copied = string.utf8.withContiguousStorageIfAvailable { bytes -> Int in
            if let base = bytes.baseAddress { at.initialize(from: base, count: bytes.count) }
            return bytes.count
        }
        if let copied { return at + copied }
        var end = at
        for b in string.utf8 { end.initialize(to: b); end += 1 }
        return end
    }

    /// Links the lines written, in order, in front of `shared`; `head` is the list for curl.
    mutating func finish(before shared: UpstreamHeaderList?) {
        var next = shared?.head
        if let nodes {
            var i = count
            while i > 0 {
                i -= 1
                nodes[i].next = next
                next = nodes + i
            }
        }
        head = next
    }

    /// Gives back storage an idle handle should not hold.
    mutating func trim() {
        head = nil
        if nodeCapacity > Self.keptNodes { Glibc.free(nodes); nodes = nil; nodeCapacity = 0 }
        if textCapacity > Self.keptText { Glibc.free(text); text = nil; textCapacity = 0 }
    }

    mutating func deallocate() {
        Glibc.free(nodes)
        Glibc.free(text)
        nodes = nil
        text = nil
        nodeCapacity = 0
        textCapacity = 0
        head = nil
    }
}
