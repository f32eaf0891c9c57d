// SPDX-License-Identifier: Apache-2.0
// One pooled curl easy handle with what it keeps between transfers: the options already set on
// it, so a transfer like the last one (the same backend) sets only what differs per request
// instead of curl_easy_reset and ~25 setopts; the memory curl reads from it during a transfer
// (request header nodes, a buffered request body); and the response's kept header values, so a
// repeated value ("application/json") is not allocated again. An easy handle keeps its options
// across transfers by design (curl_easy_setopt.md: "options set with this function call are
// valid for all forthcoming data transfers performed using this handle"). Loop-confined: owned
// by one CurlMulti, used by one transfer at a time.
import CCurl
import Glibc

final class CurlEasy {
    let easy: UnsafeMutableRawPointer
    /// curl's message for a failed transfer (CURLOPT_ERRORBUFFER, set once).
    let errorBuffer: UnsafeMutablePointer<CChar>

    /// The options that stay the same for every request to one backend, as last set; nil
    /// after curl_easy_reset (nothing of ours set).
    var profile: Profile?
    /// The request URL as last set (CURLOPT_URL copies it; equal strings skip the copy).
    var url: String?
    /// The method and body kind as last set; nil after curl_easy_reset.
    var shape: Shape?

    /// Per-request header nodes, chained in front of the backend's fixed list.
    var headerNodes = RequestHeaderNodes()
    /// The request body curl sends with CURLOPT_POSTFIELDS (which does not copy): kept here,
    /// so it lives until the handle is reconfigured, always after the transfer was removed.
    private(set) var body: UnsafeMutableRawPointer?
    private(set) var bodyCapacity = 0
    /// A body buffer up to this size stays with the idle handle; a larger one is freed.
    static let keptBodyCapacity = 16 << 10

    /// The response headers of the current transfer; reused so the array is not reallocated
    /// per request (a copy the delegate kept makes the next write copy instead).
    var responseHeaders: [(String, String)] = []
    /// The last value kept per allowlist entry, reused when the next response repeats it.
    var lastValues: [String?] = []

    struct Profile: Equatable {
        var allowedProtocols: String
        var caFile: String?
        var connectTimeoutMs: Int
        var totalTimeoutMs: Int
    }

    enum Shape: Equatable {
        /// GET, HEAD or a custom method without a body.
        case noBody(method: String)
        /// CURLOPT_POSTFIELDS from `body` (method POST, or a custom one).
        case fields(method: String)
        /// The read callback (method POST, or a custom one).
        case read(method: String)
    }

    init(share: UnsafeMutableRawPointer) {
        guard let easy = curl_easy_init() else { fatalError("curl_easy_init failed") }
        self.easy = easy
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer[0] = 0
        // curl_easy_reset clears the options in data->set but keeps the share, which lives in
        // data->share (easy.c, setopt.c CURLOPT_SHARE in libcurl 7.88): set once per handle.
        _ = tg_easy_setopt_ptr(easy, CURLOPT_SHARE, share)
    }

    deinit {
        curl_easy_cleanup(easy)
        errorBuffer.deallocate()
        headerNodes.deallocate()
        Glibc.free(body)
    }

    /// Forgets every option (after curl_easy_reset, which keeps the share).
    func reset() {
        curl_easy_reset(easy)
        profile = nil
        url = nil
        shape = nil
    }

    /// Room for a body of `count` bytes; nil when no memory could be had.
    func bodyBuffer(count: Int) -> UnsafeMutableRawPointer? {
        if count > bodyCapacity || body == nil {
            // Never realloc: curl may hold the old pointer until the next setopt, and a
            // failed realloc would leave nothing; the old contents are not needed.
            Glibc.free(body)
            body = Glibc.malloc(max(count, 1))
            bodyCapacity = body == nil ? 0 : max(count, 1)
        }
        return body
    }

    /// Called when the handle goes back to the pool (the transfer was removed from the multi).
    func parked() {
        // The header list's nodes are trimmed below: the idle handle must not point at them.
        // (CURLOPT_POSTFIELDS is left alone: setting it, even to NULL, makes the method POST in
        // libcurl 7.88's setopt.c, which the remembered shape would not know; every shape that
        // uses it sets it again before the handle is added.)
        _ = tg_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, nil)
        if bodyCapacity > Self.keptBodyCapacity {
            Glibc.free(body)
            body = nil
            bodyCapacity = 0
        }
        headerNodes.trim()
        if responseHeaders.capacity > 16 { responseHeaders = [] } else { responseHeaders.removeAll(keepingCapacity: true) }
    }
}
