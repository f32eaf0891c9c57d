// SPDX-License-Identifier: Apache-2.0
// A backend's fixed request headers as a libcurl string list, built once when the backend is
// set up instead of once per request. Per-request headers (X-Request-ID, Accept) become nodes
// of their own in front of it (UpstreamTransfer): CURLOPT_HTTPHEADER only reads the list, and
// the list must stay valid until the transfer is removed (CURLOPT_HTTPHEADER.md), which the
// transfer guarantees by holding this object.
import CCurl
import Glibc

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

/// Nodes made for one request and chained in front of a shared `UpstreamHeaderList`: one
/// allocation per node (the struct with its "Name: value" text after it), freed together.
struct RequestHeaderNodes {
    private(set) var head: UnsafeMutablePointer<curl_slist>?
    /// The first `ownedCount` nodes from `head` are ours; the rest belong to the shared list.
    private var ownedCount = 0

    init(before shared: UpstreamHeaderList?) {
        head = shared?.head
    }

    /// Puts "name: value" before the current head.
    mutating func prepend(_ name: String, _ value: String) {
        var name = name, value = value
        name.withUTF8 { n in
            value.withUTF8 { v in
                let nodeSize = MemoryLayout<curl_slist>.stride
                let textSize = n.count + 2 + v.count + 1
                guard let raw = malloc(nodeSize + textSize) else { return }
                let text = (raw + nodeSize).assumingMemoryBound(to: UInt8.self)
                text.initialize(from: n.baseAddress!, count: n.count)
                (text + n.count).initialize(to: UInt8(ascii: ":"))
                (text + n.count + 1).initialize(to: UInt8(ascii: " "))
                if v.count > 0 { (text + n.count + 2).initialize(from: v.baseAddress!, count: v.count) }
                (text + n.count + 2 + v.count).initialize(to: 0)
                let node = raw.bindMemory(to: curl_slist.self, capacity: 1)
                node.initialize(to: curl_slist(data: UnsafeMutableRawPointer(text).assumingMemoryBound(to: CChar.self),
                                               next: head))
                head = node
                ownedCount += 1
            }
        }
    }

    /// Frees the nodes this request made (never the shared list behind them).
    mutating func free() {
        while ownedCount > 0, let node = head {
            head = node.pointee.next
            Glibc.free(node)
            ownedCount -= 1
        }
        head = nil
    }
}
