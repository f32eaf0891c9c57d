// SPDX-License-Identifier: Apache-2.0
// One upstream HTTP exchange on a CurlMulti: request headers and body in through curl's read
// callback, status, headers and body out through its header and write callbacks, with pause
// and resume in both directions for backpressure (CURL_WRITEFUNC_PAUSE, CURL_READFUNC_PAUSE,
// curl_easy_pause). Loop-confined.
import CCurl
import CLinux
import Glibc
public import TollgateIO

public final class UpstreamTransfer {
    private let handle: CurlMulti.EasyHandle
    var easy: UnsafeMutableRawPointer { handle.easy }
    /// curl's message for a failed transfer; owned by the easy handle, valid until it is recycled.
    private var errorBuffer: UnsafeMutablePointer<CChar> { handle.errorBuffer }
    private unowned let multi: CurlMulti
    public private(set) var delegate: (any UpstreamTransferDelegate)?
    /// Kept alive while curl may read it (until the transfer is removed from the multi).
    private var fixedHeaders: UpstreamHeaderList?
    private var requestHeaders = RequestHeaderNodes(before: nil)
    private let maxResponseBytes: Int
    private let allowlist: UpstreamHeaderAllowlist

    public private(set) var status = 0
    public private(set) var responseHeaders: [(String, String)] = []
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
    public init(request: UpstreamRequest, multi: CurlMulti, delegate: any UpstreamTransferDelegate) {
        self.multi = multi
        self.delegate = delegate
        self.handle = multi.takeEasyHandle()
        self.maxResponseBytes = request.maxResponseBytes
        self.allowlist = request.responseHeaders
        errorBuffer[0] = 0
        configure(request)
        multi.add(self)
    }

    deinit {
        requestHeaders.free()
    }

    public var loop: EventLoop { multi.loop }

    private func configure(_ request: UpstreamRequest) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = tg_easy_setopt_ptr(easy, CURLOPT_PRIVATE, me)
        _ = tg_easy_setopt_string(easy, CURLOPT_URL, request.url)
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
        _ = tg_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, request.allowedProtocols)
        // Redirects are decided by the gateway (same-origin only, SPEC §7), never by curl.
        _ = tg_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        _ = tg_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        _ = tg_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        // Certificates are always verified: CURLOPT_SSL_VERIFYPEER 1 and VERIFYHOST 2 are curl's
        // defaults, which curl_easy_reset restores for every transfer, and nothing here turns
        // them off (SPEC §7).
        if let caFile = request.caFile {
            // CURLOPT_CAINFO replaces libcurl's default CA bundle instead of adding to it
            // (CURLOPT_CAINFO.md). The system's trust stays through the hashed directory
            // (CURLOPT_CAPATH): with OpenSSL both are loaded into one store
            // (SSL_CTX_load_verify_locations), so `ca_file` adds trust, never removes it. The
            // directory is read lazily by subject hash, so no bundle is parsed per connection.
            _ = tg_easy_setopt_string(easy, CURLOPT_CAINFO, caFile)
            _ = tg_easy_setopt_string(easy, CURLOPT_CAPATH, Curl.systemCAPath)
        }
        _ = tg_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMs)
        _ = tg_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, request.totalTimeoutMs)
        // HTTP/1.1 even when a TLS upstream offers h2 by ALPN (curl's default for https is h2).
        // Backpressure needs a paused transfer to stop reading its own connection, so TCP holds
        // the upstream back. Over HTTP/2, libcurl 7.88 keeps a paused stream's 32 MiB window
        // (HTTP2_HUGE_WINDOW_SIZE, not configurable) and, while other streams keep the shared
        // connection read, buffers the paused stream's data in memory: one slow client grew the
        // gateway by 14 MiB as ten other streams to the same backend completed
        // (Tests/e2e/test_upstream_tls.py). A response of any kind pauses for a slow client,
        // so every transfer is pinned, not only streams.
        _ = tg_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        // No CURLOPT_PIPEWAIT (it only matters for HTTP/2 multiplexing): with it, libcurl 7.88
        // left part of a burst of new transfers to an HTTP/1.1 upstream waiting for a connection
        // that never came (37 of 200 SSE streams in Benchmarks/run.sh got no response head).
        _ = tg_easy_setopt_ptr(easy, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = tg_easy_setopt_write(easy, CURLOPT_WRITEFUNCTION, curlWriteCallback)
        _ = tg_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, me)
        _ = tg_easy_setopt_write(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        _ = tg_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, me)
        // Both ends of a connection socket's life pass through the multi, which tells its
        // sockets apart from the resolver's (CurlMulti.updateSocket).
        let multiPointer = Unmanaged.passUnretained(multi).toOpaque()
        _ = tg_easy_setopt_opensocket(easy, curlOpenSocketCallback)
        _ = tg_easy_setopt_ptr(easy, CURLOPT_OPENSOCKETDATA, multiPointer)
        _ = tg_easy_setopt_closesocket(easy, curlCloseSocketCallback)
        _ = tg_easy_setopt_ptr(easy, CURLOPT_CLOSESOCKETDATA, multiPointer)

        fixedHeaders = request.fixedHeaders
        var nodes = RequestHeaderNodes(before: request.fixedHeaders)
        for (name, value) in request.headers.reversed() { nodes.prepend(name, value) }
        switch request.body {
        case .none:
            if request.method == "GET" {
                _ = tg_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
            } else if request.method == "HEAD" {
                _ = tg_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
            } else {
                _ = tg_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method)
            }
        case .bytes(let data):
            _ = tg_easy_setopt_long(easy, CURLOPT_POST, 1)
            _ = tg_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(data.count))
            data.withUnsafeBytes { raw in
                // CURLOPT_COPYPOSTFIELDS copies now; the array need not outlive this call.
                _ = tg_easy_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            }
            if request.method != "POST" { _ = tg_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method) }
        case .stream(let length):
            _ = tg_easy_setopt_long(easy, CURLOPT_POST, 1)
            _ = tg_easy_setopt_read(easy, curlReadCallback)
            _ = tg_easy_setopt_ptr(easy, CURLOPT_READDATA, me)
            if let length {
                _ = tg_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(length))
            } else {
                nodes.prepend("Transfer-Encoding", "chunked")
            }
            if request.method != "POST" { _ = tg_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method) }
        }
        requestHeaders = nodes
        _ = tg_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, nodes.head)
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
            responseHeaders.removeAll(keepingCapacity: true)
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
                delegate?.upstreamHead(self, status: status, headers: responseHeaders)
            }
            return true
        }
        guard let colon = bytes[0..<end].firstIndex(of: UInt8(ascii: ":")) else { return true }
        let name = UnsafeRawBufferPointer(rebasing: bytes[0..<colon])
        var valueStart = colon + 1
        while valueStart < end && (bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09) { valueStart += 1 }
        var valueEnd = end
        while valueEnd > valueStart && (bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09) { valueEnd -= 1 }
        let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
        switch Self.framingHeaders.match(name) {
        case "content-length"?:
            noteContentLength(value)
            return true
        case "transfer-encoding"?:
            // Any transfer coding but identity means the length is not the body's (RFC 9112 §6.3).
            isChunked = true
            return true
        default:
            break
        }
        guard let kept = allowlist.match(name) else { return true }
        // A value with a control byte (a bare CR, NUL, ESC, …) could split or forge headers
        // where the client parses them: such a header is dropped, never repaired.
        guard Self.isCleanValue(value) else { return true }
        if responseHeaders.count < 100 {
            responseHeaders.append((kept, String(decoding: value, as: UTF8.self)))
        }
        return true
    }

    /// The headers that decide the body's framing: read by the transfer itself, never kept.
    private static let framingHeaders = UpstreamHeaderAllowlist(["content-length", "transfer-encoding"])

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
            delegate?.upstreamHead(self, status: status, headers: responseHeaders)
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

private let curlWriteCallback: curl_write_callback = { pointer, size, count, userdata in
    guard let userdata, let pointer else { return 0 }
    let transfer = Unmanaged<UpstreamTransfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.bodyBytes(UnsafeRawBufferPointer(start: pointer, count: size * count))
}

private let curlHeaderCallback: curl_write_callback = { pointer, size, count, userdata in
    guard let userdata, let pointer else { return 0 }
    let transfer = Unmanaged<UpstreamTransfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.headerLine(UnsafeRawBufferPointer(start: pointer, count: size * count)) ? size * count : 0
}

private let curlReadCallback: curl_read_callback = { pointer, size, count, userdata in
    guard let userdata, let pointer else { return Int(tg_readfunc_abort()) }
    let transfer = Unmanaged<UpstreamTransfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.readBody(UnsafeMutableRawBufferPointer(start: pointer, count: size * count))
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
