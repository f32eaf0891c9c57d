// SPDX-License-Identifier: Apache-2.0
// One upstream HTTP exchange on a CurlMulti: request headers and body in through curl's read
// callback, status, headers and body out through its header and write callbacks, with pause
// and resume in both directions for backpressure (CURL_WRITEFUNC_PAUSE, CURL_READFUNC_PAUSE,
// curl_easy_pause). Loop-confined.
import CCurl
import CLinux
import Glibc
public import TollgateIO
public import TollgateCore

public final class UpstreamTransfer {
    /// The pooled easy handle with its reused storage (header nodes, body, kept headers).
    private let handle: CurlEasy
    var easy: UnsafeMutableRawPointer { handle.easy }
    /// curl's message for a failed transfer; owned by the easy handle, valid until it is recycled.
    private var errorBuffer: UnsafeMutablePointer<CChar> { handle.errorBuffer }
    private unowned let multi: CurlMulti
    public private(set) var delegate: (any UpstreamTransferDelegate)?
    /// Kept alive while curl may read it (until the transfer is removed from the multi).
    private var fixedHeaders: UpstreamHeaderList?
    private let maxResponseBytes: Int
    private let allowlist: UpstreamHeaderAllowlist
    /// Body bytes taken at the start (in `handle`'s body buffer) that the read callback still
    /// owes curl: a `.buffered` body the delegate could not give whole.
    private var prefixSent = 0, prefixCount = 0

    public private(set) var status = 0
    /// The response body's length, once the head is complete, when it can be trusted: declared
    /// once (or repeated identically), digits only, and the reply is not chunked — with both,
    /// curl de-chunks and ignores the length (RFC 9112 §6.3 rule 3), so passing it on would
    /// desync the client's connection.
    public private(set) var contentLength: Int?
    private var declaredLength: Int?
    private var lengthUntrusted = false
    private var isChunked = false
    public private(set) var isHeadComplete = false
    public private(set) var bytesReceived = 0
    public private(set) var isFinished = false
    var pendingOutcome: UpstreamOutcome?
    private var receivePaused = false
    private var sendPaused = false
    private var exceededMaxResponse = false
    private var abortRequested = false

    /// Builds and starts a transfer on `multi` (the loop's multi handle).
    public convenience init(request: consuming UpstreamRequest, multi: CurlMulti, delegate: any UpstreamTransferDelegate) {
        self.init(template: request, accept: request.accept, requestID: request.requestID, body: request.body,
                  multi: multi, delegate: delegate)
    }

    /// Builds and starts `template` with this request's own `Accept`, `X-Request-ID` and body
    /// (the template's are not used). A backend keeps one template per route and every request
    /// reads it in place: a copy of an UpstreamRequest retains and releases each of its fields.
    public init(template request: borrowing UpstreamRequest, accept: String?, requestID: RequestID?, body: UpstreamBody,
                multi: CurlMulti, delegate: any UpstreamTransferDelegate) {
        self.multi = multi
        self.delegate = delegate
        self.handle = multi.takeEasyHandle()
        self.maxResponseBytes = request.maxResponseBytes
        self.allowlist = request.responseHeaders
        errorBuffer[0] = 0
        handle.responseHeaders.removeAll(keepingCapacity: true)
        configure(request, accept: accept, requestID: requestID, body: body)
        multi.add(self)
    }

    public var loop: EventLoop { multi.loop }

    /// Sets what this request needs on the pooled handle. Options that are the same for every
    /// request to a backend (timeouts, protocols, CA file) and the method and body kind are set
    /// only when they differ from what the handle last had, after a curl_easy_reset so nothing
    /// of another kind of request stays; per request: the transfer's own pointers, the URL when
    /// it changed, the header list and the body.
    private func configure(_ request: borrowing UpstreamRequest, accept: String?, requestID: RequestID?,
                           body requestBody: UpstreamBody) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        let profile = CurlEasy.Profile(allowedProtocols: request.allowedProtocols, caFile: request.caFile,
                                       connectTimeoutMs: request.connectTimeoutMs, totalTimeoutMs: request.totalTimeoutMs)
        let body = takeBody(requestBody)
        let shape: CurlEasy.Shape
        switch body {
        case .none: shape = .noBody(method: request.method)
        case .fields: shape = .fields(method: request.method)
        case .read, .copied: shape = .read(method: request.method)
        }
        if handle.profile != profile || handle.shape != shape {
            if handle.profile != nil { handle.reset() }
            setHandleOptions()
            setProfile(profile)
            setShape(shape)
        }
        _ = tg_easy_setopt_ptr(easy, CURLOPT_PRIVATE, me)
        _ = tg_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, me)
        _ = tg_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, me)
        if handle.url != request.url {
            _ = tg_easy_setopt_string(easy, CURLOPT_URL, request.url)
            handle.url = request.url
        }

        fixedHeaders = request.fixedHeaders
        let chunked = body.isChunked
        var lines = request.headers.count + (chunked ? 1 : 0)
        var bytes = chunked ? RequestHeaderNodes.size("Transfer-Encoding", "chunked") : 0
        if let accept { lines += 1; bytes += RequestHeaderNodes.size("Accept", accept) }
        if requestID != nil { lines += 1; bytes += RequestHeaderNodes.size("X-Request-ID", valueLength: RequestID.textLength) }
        for (name, value) in request.headers { bytes += RequestHeaderNodes.size(name, value) }
        if handle.headerNodes.start(lines: lines, bytes: bytes) {
            if chunked { handle.headerNodes.add("Transfer-Encoding", "chunked") }
            for (name, value) in request.headers { handle.headerNodes.add(name, value) }
            if let accept { handle.headerNodes.add("Accept", accept) }
            if let id = requestID { handle.headerNodes.add("X-Request-ID", id: id) }
        }
        handle.headerNodes.finish(before: request.fixedHeaders)
        _ = tg_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, handle.headerNodes.head)

        switch body {
        case .none:
            break
        case .fields(let count):
            // CURLOPT_POSTFIELDS does not copy: the buffer is the handle's and outlives the
            // transfer. The size first: POSTFIELDSIZE may drop a copied body (setopt.c).
            _ = tg_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(count))
            _ = tg_easy_setopt_ptr(easy, CURLOPT_POSTFIELDS, handle.body)
        case .read(let length):
            _ = tg_easy_setopt_ptr(easy, CURLOPT_READDATA, me)
            _ = tg_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(length ?? -1))
        case .copied(let data):
            // No memory for the handle's buffer: curl copies the body (the handle is reset
            // before its next use, as this shape says the read callback). The read callback's
            // data is this transfer's all the same: libcurl sends from the copy and never calls
            // it, but no option may point at a transfer that is gone.
            _ = tg_easy_setopt_ptr(easy, CURLOPT_READDATA, me)
            _ = tg_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(data.count))
            data.withUnsafeBytes { raw in
                _ = tg_easy_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            }
            handle.shape = nil
        }
    }

    /// How the body reaches curl.
    private enum TakenBody {
        case none
        /// `count` bytes in the handle's body buffer.
        case fields(Int)
        /// Through the read callback (after any `prefixCount` bytes already taken); nil: chunked.
        case read(length: Int?)
        /// Copied by curl (CURLOPT_COPYPOSTFIELDS).
        case copied([UInt8])

        var isChunked: Bool {
            if case .read(length: nil) = self { return true }
            return false
        }
    }

    private func takeBody(_ body: UpstreamBody) -> TakenBody {
        switch body {
        case .none:
            return .none
        case .bytes(let data):
            guard let buffer = handle.bodyBuffer(count: data.count) else { return .copied(data) }
            data.withUnsafeBytes { raw in
                if let base = raw.baseAddress { buffer.copyMemory(from: base, byteCount: raw.count) }
            }
            return .fields(data.count)
        case .stream(let length):
            return .read(length: length)
        case .buffered(let length):
            guard length >= 0, let delegate, let buffer = handle.bodyBuffer(count: length) else { return .read(length: length) }
            var filled = 0
            while filled < length {
                let chunk = delegate.upstreamReadBody(self, into: UnsafeMutableRawBufferPointer(start: buffer + filled, count: length - filled))
                guard case .bytes(let n) = chunk, n > 0, n <= length - filled else { break }
                filled += n
            }
            if filled == length { return .fields(length) }
            // The rest comes through the read callback, after what was taken here.
            prefixSent = 0
            prefixCount = filled
            return .read(length: length)
        }
    }

    /// The options every transfer of this gateway has (after a reset, or on a new handle).
    private func setHandleOptions() {
        _ = tg_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)  // threads: no SIGALRM for DNS timeouts
        // Removing a transfer whose name is still being resolved must not join the resolver
        // thread on the loop (asyn-thread.c Curl_resolver_kill waits for getaddrinfo, up to the
        // resolver's whole timeout, unless quick_exit is set); the thread is detached instead
        // and frees itself when getaddrinfo returns (CURLOPT_QUICK_EXIT.md, 7.87.0).
        _ = tg_easy_setopt_long(easy, CURLOPT_QUICK_EXIT, 1)
        if let seconds = multi.share.dnsCacheTimeoutSeconds {
            _ = tg_easy_setopt_long(easy, CURLOPT_DNS_CACHE_TIMEOUT, seconds)
        }
        if !Curl.proxyFromEnvironment {
            _ = tg_easy_setopt_string(easy, CURLOPT_NOPROXY, "*")
        } else {
            // Through an HTTPS proxy curl hands the proxy's own "HTTP/1.1 200 Connection
            // established" head to the header callback first, and it would be taken for the
            // backend's (CURLOPT_SUPPRESS_CONNECT_HEADERS.md, 7.54.0).
            _ = tg_easy_setopt_long(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        }
        // Redirects are decided by the gateway (same-origin only, SPEC §7), never by curl.
        _ = tg_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        _ = tg_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        _ = tg_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        // HTTP/2 when a TLS upstream offers it by ALPN, HTTP/1.1 otherwise and on plain http
        // (CURL_HTTP_VERSION_2TLS, CURLOPT_HTTP_VERSION.md). Backpressure needs a paused
        // transfer to stop reading its own connection, so TCP holds the upstream back. Over a
        // multiplexed HTTP/2 connection libcurl 7.88 keeps a paused stream's 32 MiB window
        // (HTTP2_HUGE_WINDOW_SIZE, not configurable) and, while other streams keep the shared
        // connection read, buffers the paused stream's data in memory: one slow client grew the
        // gateway by 14 MiB as ten other streams to the same backend completed. So the multi
        // never multiplexes (CurlMulti: CURLMOPT_PIPELINING = CURLPIPE_NOTHING): each HTTP/2
        // connection carries one transfer at a time, a paused one is not read, exactly as over
        // HTTP/1.1 (Tests/e2e/test_upstream_tls.py, the slow reader over both).
        _ = tg_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        // No CURLOPT_PIPEWAIT (it only matters for HTTP/2 multiplexing): with it, libcurl 7.88
        // left part of a burst of new transfers to an HTTP/1.1 upstream waiting for a connection
        // that never came (37 of 200 SSE streams in Benchmarks/run.sh got no response head).
        _ = tg_easy_setopt_ptr(easy, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = tg_easy_setopt_write(easy, CURLOPT_WRITEFUNCTION, curlWriteCallback)
        _ = tg_easy_setopt_write(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        // Both ends of a connection socket's life pass through the multi, which tells its
        // sockets apart from the resolver's (CurlMulti.updateSocket). A handle belongs to one
        // multi for its whole life.
        let multiPointer = Unmanaged.passUnretained(multi).toOpaque()
        _ = tg_easy_setopt_opensocket(easy, curlOpenSocketCallback)
        _ = tg_easy_setopt_ptr(easy, CURLOPT_OPENSOCKETDATA, multiPointer)
        _ = tg_easy_setopt_closesocket(easy, curlCloseSocketCallback)
        _ = tg_easy_setopt_ptr(easy, CURLOPT_CLOSESOCKETDATA, multiPointer)
    }

    private func setProfile(_ profile: CurlEasy.Profile) {
        _ = tg_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, profile.allowedProtocols)
        // Certificates are always verified: CURLOPT_SSL_VERIFYPEER 1 and VERIFYHOST 2 are curl's
        // defaults, which curl_easy_reset restores before any other profile is set, and nothing
        // here turns them off (SPEC §7).
        if let caFile = profile.caFile {
            // CURLOPT_CAINFO replaces libcurl's default CA bundle instead of adding to it
            // (CURLOPT_CAINFO.md). The system's trust stays through the hashed directory
            // (CURLOPT_CAPATH): with OpenSSL both are loaded into one store
            // (SSL_CTX_load_verify_locations), so `ca_file` adds trust, never removes it. The
            // directory is read lazily by subject hash, so no bundle is parsed per connection.
            _ = tg_easy_setopt_string(easy, CURLOPT_CAINFO, caFile)
            _ = tg_easy_setopt_string(easy, CURLOPT_CAPATH, Curl.systemCAPath)
        }
        _ = tg_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, profile.connectTimeoutMs)
        _ = tg_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, profile.totalTimeoutMs)
        handle.profile = profile
    }

    private func setShape(_ shape: CurlEasy.Shape) {
        switch shape {
        case .noBody(let method):
            if method == "GET" {
                _ = tg_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
            } else if method == "HEAD" {
                _ = tg_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
            } else {
                _ = tg_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method)
            }
        case .fields(let method):
            _ = tg_easy_setopt_long(easy, CURLOPT_POST, 1)
            if method != "POST" { _ = tg_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method) }
        case .read(let method):
            _ = tg_easy_setopt_long(easy, CURLOPT_POST, 1)
            _ = tg_easy_setopt_read(easy, curlReadCallback)
            if method != "POST" { _ = tg_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method) }
        }
        handle.shape = shape
    }

    // MARK: - Control (loop thread)

    /// Continues delivering the response after `upstreamBody` returned false.
    public func resumeReceiving() {
        guard receivePaused, !isFinished else { return }
        receivePaused = false
        applyPause()
    }

    /// Continues sending the request body after `upstreamReadBody` returned `.wouldBlock`.
    public func resumeSending() {
        guard sendPaused, !isFinished else { return }
        sendPaused = false
        applyPause()
    }

    private func applyPause() {
        let mask = (receivePaused ? CURLPAUSE_RECV : 0) | (sendPaused ? CURLPAUSE_SEND : 0)
        // curl_easy_pause may deliver held data at once, re-entering our callbacks.
        multi.withCurlCall { _ = curl_easy_pause(easy, mask) }
        multi.kick()
    }

    /// Stops the transfer now: the connection to the backend is closed so no GPU keeps working
    /// for a client that is gone. The delegate is not called again.
    public func cancel() {
        guard !isFinished else { return }
        abortRequested = true
        delegate = nil
        multi.remove(self, outcome: .cancelled)
    }

    func multiAddFailed(_ message: String) {
        pendingOutcome = .broken(message)
        multi.remove(self, outcome: .broken(message))
    }

    /// Called once by the multi after curl_multi_remove_handle.
    func finished(outcome: UpstreamOutcome) {
        isFinished = true
        let delegate = self.delegate
        self.delegate = nil
        multi.recycle(handle)
        delegate?.upstreamEnded(self, outcome: outcome)
    }

    /// Maps curl's result code onto SPEC §3's outcome classes.
    func outcome(for code: CURLcode) -> UpstreamOutcome {
        if exceededMaxResponse { return .tooLarge }
        if abortRequested { return .cancelled }
        if code == CURLE_OK { return .completed }
        let message = errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT:
            return .connectFailed(message)
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut(message)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_CRL_BADFILE, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED,
             CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED:
            // Every handshake and certificate failure (SPEC §3: 502 backend_tls). A failed
            // close_notify (CURLE_SSL_SHUTDOWN_FAILED) is not one: it comes after the exchange.
            return .tlsFailed(message)
        case CURLE_ABORTED_BY_CALLBACK, CURLE_WRITE_ERROR, CURLE_READ_ERROR:
            return .cancelled
        default:
            return .broken(message)
        }
    }

    // MARK: - Callbacks from curl

    /// Returns false to abort the transfer (a declared body over `maxResponseBytes`).
    fileprivate func headerLine(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // Trailers of a chunked body also come through here: nothing after the head counts.
        if isHeadComplete { return true }
        // Status line of each response (1xx interim ones included): "HTTP/1.1 200 OK", "HTTP/2 200".
        if bytes.count >= 5 && bytes[0] == UInt8(ascii: "H") && bytes[1] == UInt8(ascii: "T") && bytes[2] == UInt8(ascii: "T")
            && bytes[3] == UInt8(ascii: "P") && bytes[4] == UInt8(ascii: "/") {
            handle.responseHeaders.removeAll(keepingCapacity: true)
            declaredLength = nil
            lengthUntrusted = false
            isChunked = false
            status = Self.parseStatus(bytes)
            return true
        }
        var end = bytes.count
        while end > 0 && (bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D) { end -= 1 }
        if end == 0 {
            // The blank line: the head is complete unless it was an interim 1xx response.
            if status >= 200 {
                contentLength = isChunked || lengthUntrusted ? nil : declaredLength
                // A declared length over the cap is refused before anything reaches the
                // client, so the gateway can still answer with a clean 502.
                if let declared = contentLength, declared > maxResponseBytes {
                    exceededMaxResponse = true
                    return false
                }
                isHeadComplete = true
                delegate?.upstreamHead(self, status: status, headers: handle.responseHeaders)
            }
            return true
        }
        guard let base = bytes.baseAddress, let found = memchr(base, Int32(UInt8(ascii: ":")), end) else { return true }
        let colon = UnsafeRawPointer(found) - base
        let name = UnsafeRawBufferPointer(rebasing: bytes[0..<colon])
        var valueStart = colon + 1
        while valueStart < end && (bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09) { valueStart += 1 }
        var valueEnd = end
        while valueEnd > valueStart && (bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09) { valueEnd -= 1 }
        let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
        if name.count == 14 && UpstreamHeaderAllowlist.equals(name, "content-length") {
            noteContentLength(value)
            return true
        }
        if name.count == 17 && UpstreamHeaderAllowlist.equals(name, "transfer-encoding") {
            // Any transfer coding but identity means the length is not the body's (RFC 9112 §6.3).
            isChunked = true
            return true
        }
        guard let index = allowlist.match(name) else { return true }
        // A value with a control byte (a bare CR, NUL, ESC, …) could split or forge headers
        // where the client parses them: such a header is dropped, never repaired.
        guard Self.isCleanValue(value) else { return true }
        if handle.responseHeaders.count < 100 {
            handle.responseHeaders.append((allowlist.name(at: index), keptValue(value, entry: index)))
        }
        return true
    }

    /// The value as a String: the one this handle kept last time for the same header when the
    /// bytes are equal (an upstream repeats its content type), else a new one, remembered.
    private func keptValue(_ value: UnsafeRawBufferPointer, entry: Int) -> String {
        if handle.lastValues.count != allowlist.count {
            handle.lastValues = Array(repeating: nil, count: allowlist.count)
        }
        if let last = handle.lastValues[entry] {
            let same = last.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
                guard bytes.count == value.count else { return false }
                guard let a = bytes.baseAddress, let b = value.baseAddress else { return true }  // both empty
                return memcmp(a, b, value.count) == 0
            }
            if same == true { return last }
        }
        let made = String(decoding: value, as: UTF8.self)
        handle.lastValues[entry] = made
        return made
    }

    /// Digits only, at most 18 of them; a second, different value makes the length untrusted.
    private func noteContentLength(_ value: UnsafeRawBufferPointer) {
        guard !value.isEmpty, value.count <= 18 else {
            lengthUntrusted = true
            return
        }
        var n = 0
        for b in value {
            guard b >= 0x30 && b <= 0x39 else {
                lengthUntrusted = true
                return
            }
            n = n * 10 + Int(b - 0x30)
        }
        if let previous = declaredLength, previous != n { lengthUntrusted = true }
        declaredLength = n
    }

    /// RFC 9110 §5.5: field values are visible characters, spaces and tabs (obs-text allowed).
    static func isCleanValue(_ value: UnsafeRawBufferPointer) -> Bool {
        for b in value where (b < 0x20 && b != 0x09) || b == 0x7F { return false }
        return true
    }

    private static func parseStatus(_ line: UnsafeRawBufferPointer) -> Int {
        guard let space = line.firstIndex(of: 0x20), space + 3 < line.count else { return 0 }
        var code = 0
        for i in (space + 1)...(space + 3) {
            let digit = Int(line[i]) - 0x30
            guard digit >= 0 && digit <= 9 else { return 0 }
            code = code * 10 + digit
        }
        return code
    }

    /// Returns the bytes taken, CURL_WRITEFUNC_PAUSE to have curl hold them, or 0 to abort.
    fileprivate func bodyBytes(_ bytes: UnsafeRawBufferPointer) -> Int {
        if abortRequested { return 0 }
        if receivePaused { return Int(CURL_WRITEFUNC_PAUSE) }
        if !isHeadComplete {
            // HTTP/0.9-style or header-less: should not happen with a real HTTP server.
            isHeadComplete = true
            delegate?.upstreamHead(self, status: status, headers: handle.responseHeaders)
        }
        bytesReceived += bytes.count
        if bytesReceived > maxResponseBytes {
            exceededMaxResponse = true
            return 0
        }
        guard let delegate else { return 0 }
        if !delegate.upstreamBody(self, bytes) { receivePaused = true }
        return bytes.count
    }

    fileprivate func readBody(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let delegate, !abortRequested else { return Int(tg_readfunc_abort()) }
        if prefixSent < prefixCount, let body = handle.body, let out = buffer.baseAddress {
            let n = min(prefixCount - prefixSent, buffer.count)
            out.copyMemory(from: body + prefixSent, byteCount: n)
            prefixSent += n
            return n
        }
        switch delegate.upstreamReadBody(self, into: buffer) {
        case .bytes(let n):
            return n
        case .wouldBlock:
            sendPaused = true
            return Int(tg_readfunc_pause())
        case .end:
            return 0
        case .abort:
            return Int(tg_readfunc_abort())
        }
    }
}

// MARK: - C callbacks

// The transfer is used through a guaranteed reference (no retain and release per call): curl
// calls these only while its handle is in the multi, and the multi holds the transfer (+1 from
// `CurlMulti.add` to `finish`, which runs only after curl returned: a removal asked for inside
// a callback waits in `pendingRemovals`). So the transfer outlives every call by construction.

private let curlWriteCallback: curl_write_callback = { pointer, size, count, userdata in
    guard let userdata, let pointer else { return 0 }
    return Unmanaged<UpstreamTransfer>.fromOpaque(userdata)._withUnsafeGuaranteedRef {
        $0.bodyBytes(UnsafeRawBufferPointer(start: pointer, count: size * count))
    }
}

private let curlHeaderCallback: curl_write_callback = { pointer, size, count, userdata in
    guard let userdata, let pointer else { return 0 }
    return Unmanaged<UpstreamTransfer>.fromOpaque(userdata)._withUnsafeGuaranteedRef {
        $0.headerLine(UnsafeRawBufferPointer(start: pointer, count: size * count)) ? size * count : 0
    }
}

private let curlReadCallback: curl_read_callback = { pointer, size, count, userdata in
    guard let userdata, let pointer else { return Int(tg_readfunc_abort()) }
    return Unmanaged<UpstreamTransfer>.fromOpaque(userdata)._withUnsafeGuaranteedRef {
        $0.readBody(UnsafeMutableRawBufferPointer(start: pointer, count: size * count))
    }
}

// CURLOPT_OPENSOCKETFUNCTION: what curl does by default (socket(2) with the address's family,
// type and protocol; curl makes it non-blocking), plus telling the multi.
private let curlOpenSocketCallback: curl_opensocket_callback = { userdata, _, address in
    guard let address else { return tg_socket_bad() }
    let fd = Glibc.socket(address.pointee.family, address.pointee.socktype, address.pointee.protocol)
    if fd >= 0, let userdata {
        Unmanaged<CurlMulti>.fromOpaque(userdata).takeUnretainedValue().socketOpened(fd)
    }
    return fd < 0 ? tg_socket_bad() : fd
}

private let curlCloseSocketCallback: curl_closesocket_callback = { userdata, socket in
    if let userdata {
        Unmanaged<CurlMulti>.fromOpaque(userdata).takeUnretainedValue().socketClosing(socket)
    }
    return Glibc.close(socket)
}
