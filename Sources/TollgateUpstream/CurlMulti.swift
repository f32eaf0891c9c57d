// SPDX-License-Identifier: Apache-2.0
// libcurl's multi interface as a guest in one event loop (curl docs/examples/ephiperfifo.c):
// the socket callback maps CURL_POLL_* onto the loop's epoll interest, the timer callback arms
// a loop timer, and readiness is handed back with curl_multi_socket_action. One CurlMulti per
// loop; a multi handle must never be used from two threads.
import CCurl
import CLinux
import Glibc
public import TollgateIO

/// curl_global_init is not thread-safe; run it once, before any loop starts a transfer.
private let curlGlobalInit: Void = {
    let rc = curl_global_init(Int(CURL_GLOBAL_ALL))
    precondition(rc == CURLE_OK, "curl_global_init failed: \(rc)")
}()

public enum Curl {
    /// Initialises libcurl process-wide (idempotent). Call from the main thread at start-up.
    public static func initialize() { _ = curlGlobalInit }

    /// "libcurl/7.88.1 OpenSSL/3.0.x zlib/… nghttp2/…"
    public static var version: String { String(cString: tg_curl_version()) }

    /// The hashed CA directory this libcurl trusts by default (CURLINFO_CAPATH, 7.84.0; Debian:
    /// /etc/ssl/certs), else OpenSSL's conventional one. A backend's `ca_file` replaces the
    /// default CA file, so the system's trust comes through this directory then.
    static let systemCAPath: String = {
        initialize()
        guard let easy = curl_easy_init() else { return "/etc/ssl/certs" }
        defer { curl_easy_cleanup(easy) }
        var path: UnsafeMutablePointer<CChar>?
        guard tg_easy_getinfo_string(easy, CURLINFO_CAPATH, &path) == CURLE_OK, let path, path[0] != 0 else {
            return "/etc/ssl/certs"
        }
        return String(cString: path)
    }()

    /// Whether a proxy variable curl honours is set in the environment (read once). When none
    /// is, transfers set CURLOPT_NOPROXY "*": the same result, without curl calling getenv for
    /// no_proxy, NO_PROXY, http_proxy, all_proxy and ALL_PROXY on every request (url.c).
    static let proxyFromEnvironment: Bool = {
        let names: [String] = ["http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
        return names.contains { getenv($0) != nil }
    }()
}

public final class CurlMulti: TimerHandler {
    public let loop: EventLoop
    let handle: UnsafeMutableRawPointer
    /// The process's DNS cache; every easy handle of this multi joins it.
    let share: CurlShare
    private var sockets: [Int32: CurlSocket] = [:]
    private var timer = TimerSlot()
    private var running: Int32 = 0
    /// Easy handles kept for reuse with their options (connections live in the multi's cache
    /// either way). Last in, first out: with one backend the handle taken was configured for it.
    private var idleHandles: [CurlEasy] = []
    /// Depth of calls into curl on this multi; transfers cancelled meanwhile are removed after.
    private(set) var callDepth = 0
    private var pendingRemovals: [UpstreamTransfer] = []

    public init(loop: EventLoop, share: CurlShare, maxCachedConnections: Int = 256) {
        Curl.initialize()
        self.loop = loop
        self.share = share
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed") }
        handle = multi
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = tg_multi_setopt_socketfn(multi, curlSocketCallback)
        _ = tg_multi_setopt_ptr(multi, CURLMOPT_SOCKETDATA, me)
        _ = tg_multi_setopt_timerfn(multi, curlTimerCallback)
        _ = tg_multi_setopt_ptr(multi, CURLMOPT_TIMERDATA, me)
        _ = tg_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, maxCachedConnections)
        // One transfer per connection, HTTP/2 included (libcurl multiplexes by default since
        // 7.62): a paused transfer must stop its connection being read, which a shared HTTP/2
        // connection cannot do in libcurl 7.88 (see UpstreamTransfer.setHandleOptions).
        _ = tg_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_NOTHING))
    }

    deinit {
        curl_multi_cleanup(handle)
        idleHandles.removeAll()  // curl_easy_cleanup each, while the share is still held
    }

    // MARK: - Transfers

    /// Starts `transfer` (built by `makeTransfer`).
    func add(_ transfer: UpstreamTransfer) {
        loop.assertInLoop()
        _ = Unmanaged.passRetained(transfer)  // released in finish()
        // curl_multi_add_handle calls the timer callback with a 0 timeout, which kicks it off.
        let rc = curl_multi_add_handle(handle, transfer.easy)
        if rc != CURLM_OK {
            transfer.multiAddFailed(String(cString: curl_multi_strerror(rc)))
        }
    }

    func takeEasyHandle() -> CurlEasy {
        idleHandles.popLast() ?? CurlEasy(share: share.handle)
    }

    /// Takes back a handle after its transfer was removed; its options stay for the next.
    func recycle(_ handle: CurlEasy) {
        guard idleHandles.count < 256 else { return }  // dropped: curl_easy_cleanup
        handle.parked()
        idleHandles.append(handle)
    }

    /// Removes a finished or cancelled transfer. Inside a curl callback the removal waits until
    /// curl returns (curl_multi_remove_handle must not be called from its callbacks).
    func remove(_ transfer: UpstreamTransfer, outcome: UpstreamOutcome) {
        if callDepth > 0 {
            transfer.pendingOutcome = outcome
            pendingRemovals.append(transfer)
            return
        }
        finish(transfer, outcome: outcome)
    }

    private func finish(_ transfer: UpstreamTransfer, outcome: UpstreamOutcome) {
        guard !transfer.isFinished else { return }
        curl_multi_remove_handle(handle, transfer.easy)
        transfer.finished(outcome: outcome)
        Unmanaged.passUnretained(transfer).release()
    }

    /// Runs `body` as a call into curl, then reads completions and applies deferred removals.
    @inline(__always)
    func withCurlCall(_ body: () -> Void) {
        callDepth += 1
        body()
        callDepth -= 1
        if callDepth == 0 { drainMessages() }
    }

    private func drainMessages() {
        var left: Int32 = 0
        while let message = curl_multi_info_read(handle, &left) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let code = tg_msg_result(message)
            var raw: UnsafeMutableRawPointer?
            _ = tg_easy_getinfo_ptr(easy, CURLINFO_PRIVATE, &raw)
            guard let raw else { continue }
            let transfer = Unmanaged<UpstreamTransfer>.fromOpaque(raw).takeUnretainedValue()
            finish(transfer, outcome: transfer.outcome(for: code))
        }
        while let transfer = pendingRemovals.popLast() {
            finish(transfer, outcome: transfer.pendingOutcome ?? .cancelled)
        }
    }

    // MARK: - Driving curl from the loop

    fileprivate func socketEvent(_ fd: Int32, _ events: IOEvents) {
        if let socket = sockets[fd], socket.isIdle {
            // An idle cached connection became readable: the upstream closed it (or sent
            // something unasked). curl finds out when it next checks the connection; stop
            // watching it so a level-triggered event does not repeat forever (the entry stays:
            // its close will still be reported, and a reuse registers it again).
            if loop.isRegistered(fd, to: socket) { loop.deregister(fd) }
            return
        }
        var flags: Int32 = 0
        if events.contains(.read) || events.contains(.readEOF) { flags |= CURL_CSELECT_IN }
        if events.contains(.write) { flags |= CURL_CSELECT_OUT }
        if events.contains(.error) { flags |= CURL_CSELECT_ERR }
        withCurlCall { _ = curl_multi_socket_action(handle, fd, flags, &running) }
    }

    public func timerFired(deadline: UInt64, now: UInt64) {
        switch timer.fired(entryDeadline: deadline, now: now) {
        case .expired:
            withCurlCall { _ = curl_multi_socket_action(handle, curl_socket_t(tg_socket_timeout()), 0, &running) }
        case .reschedule(let next):
            loop.schedule(self, at: next)
        case .ignore:
            break
        }
    }

    /// Asks curl to run soon (after an unpause), from the loop rather than recursively.
    func kick() {
        if let at = timer.set(loop.now) { loop.schedule(self, at: at) }
    }

    fileprivate func updateSocket(_ fd: Int32, what: Int32) {
        if what == CURL_POLL_REMOVE {
            guard let socket = sockets[fd] else { return }
            if socket.closeIsReported {
                // Kept registered: a connection that goes back to curl's cache is usually taken
                // again by the next request with the same interest, and leaving it in the epoll
                // set saves a DEL and an ADD per request. If it turns readable while idle (the
                // upstream closed it), `socketEvent` stops watching it; curl's close callback
                // removes the entry before the descriptor is closed.
                socket.isIdle = true
            } else {
                // A descriptor curl may close without the close callback: the threaded
                // resolver's socketpair is reported with CURL_POLL_REMOVE and then closed at once
                // (asyn-thread.c destroy_async_data: Curl_multi_closed, then sclose). Keeping it
                // would hand its registration to the next socket that gets the same number.
                removeSocket(fd)
            }
            return
        }
        var interest: IOEvents = []
        if what == CURL_POLL_IN || what == CURL_POLL_INOUT { interest.insert(.read) }
        if what == CURL_POLL_OUT || what == CURL_POLL_INOUT { interest.insert(.write) }
        let socket: CurlSocket
        if let existing = sockets[fd] {
            socket = existing
        } else {
            socket = CurlSocket(fd: fd, multi: self, closeIsReported: false)
            sockets[fd] = socket
        }
        socket.isIdle = false
        watch(socket, interest)
    }

    /// Puts `socket` in the epoll set with `interest`: a MOD when the loop's registration for
    /// the number is this socket's, else (never registered, dropped while idle, or lost because
    /// the number was closed and reused without us hearing of it) a fresh ADD.
    private func watch(_ socket: CurlSocket, _ interest: IOEvents) {
        if loop.isRegistered(socket.fd, to: socket) {
            do {
                try loop.setInterest(socket.fd, interest)
                return
            } catch {
                // ENOENT: the kernel already forgot the descriptor (closed); register afresh.
                loop.deregister(socket.fd)
            }
        }
        do {
            try loop.register(socket.fd, interest: interest, handler: socket)
        } catch {
            // Cannot watch this socket: curl will time the transfer out.
        }
    }

    /// Stops watching `fd`, touching the loop's registration only when it is ours.
    private func removeSocket(_ fd: Int32) {
        guard let socket = sockets.removeValue(forKey: fd) else { return }
        if loop.isRegistered(fd, to: socket) { loop.deregister(fd) }
    }

    /// curl made a connection socket (CURLOPT_OPENSOCKETFUNCTION). The number was free, so an
    /// entry under it can only be stale; the new socket's close will be reported.
    func socketOpened(_ fd: Int32) {
        removeSocket(fd)
        sockets[fd] = CurlSocket(fd: fd, multi: self, closeIsReported: true)
    }

    /// curl is about to close `fd` (CURLOPT_CLOSESOCKETFUNCTION): stop watching it first, so a
    /// reused descriptor number can never receive curl's interest.
    func socketClosing(_ fd: Int32) {
        removeSocket(fd)
    }

    fileprivate func updateTimer(_ timeoutMs: Int) {
        if timeoutMs < 0 {
            timer.clear()
            return
        }
        // A 0 timeout means "call me as soon as possible": the next loop iteration.
        let deadline = tg_monotonic_ns() + UInt64(timeoutMs) * 1_000_000
        if let at = timer.set(deadline) { loop.schedule(self, at: at) }
    }
}

/// The epoll registration for one of curl's sockets.
final class CurlSocket: IOHandler {
    let fd: Int32
    unowned let multi: CurlMulti
    /// Opened through our CURLOPT_OPENSOCKETFUNCTION, so curl closes it through our
    /// CURLOPT_CLOSESOCKETFUNCTION: only such sockets stay registered while idle.
    let closeIsReported: Bool
    /// curl said CURL_POLL_REMOVE (the connection is in its cache, no transfer uses it).
    var isIdle = false

    init(fd: Int32, multi: CurlMulti, closeIsReported: Bool) {
        self.fd = fd
        self.multi = multi
        self.closeIsReported = closeIsReported
    }

    func handleIO(_ events: IOEvents) {
        multi.socketEvent(fd, events)
    }
}

// MARK: - C callbacks (capture nothing; context arrives as the user pointer)

// The multi through a guaranteed reference (no retain and release per call): curl calls these
// only inside a call on the multi's own handle, made by a method of the live multi.
private let curlSocketCallback: curl_socket_callback = { _, socket, what, userp, _ in
    guard let userp else { return 0 }
    Unmanaged<CurlMulti>.fromOpaque(userp)._withUnsafeGuaranteedRef { $0.updateSocket(socket, what: what) }
    return 0
}

// CURLMOPT_TIMERFUNCTION: only record the deadline; calling curl from here risks "unpleasant
// recursive behavior" (CURLMOPT_TIMERFUNCTION.md).
private let curlTimerCallback: curl_multi_timer_callback = { _, timeoutMs, userp in
    guard let userp else { return 0 }
    Unmanaged<CurlMulti>.fromOpaque(userp)._withUnsafeGuaranteedRef { $0.updateTimer(timeoutMs) }
    return 0
}
