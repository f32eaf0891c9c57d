// SPDX-License-Identifier: Apache-2.0
// One DNS cache for the whole process (a CURLSH sharing CURL_LOCK_DATA_DNS): every loop's multi
// handle would otherwise keep its own, and each loop would resolve every backend name again.
// The loops run on different threads, so the share's lock callbacks take real mutexes
// (CURLSHOPT_LOCKFUNC.md: "you must provide the locking"), one per kind of shared data; curl
// also locks CURL_LOCK_DATA_SHARE around its own bookkeeping.
import CCurl
import Glibc

public final class CurlShare: @unchecked Sendable {
    /// The CURLSH; only curl touches it, under the locks below.
    let handle: UnsafeMutableRawPointer
    /// One mutex per curl_lock_data value, allocated once and never moved (pthread mutexes must
    /// not be copied).
    private let mutexes: UnsafeMutablePointer<pthread_mutex_t>
    private static let mutexCount = Int(CURL_LOCK_DATA_LAST.rawValue)

    /// Seconds a resolved name stays in the cache (CURLOPT_DNS_CACHE_TIMEOUT); nil keeps curl's
    /// default (60 s). Tests set 0 so every new connection resolves again.
    public let dnsCacheTimeoutSeconds: Int?

    public init(dnsCacheTimeoutSeconds: Int? = nil) {
        Curl.initialize()
        self.dnsCacheTimeoutSeconds = dnsCacheTimeoutSeconds
        mutexes = .allocate(capacity: Self.mutexCount)
        for i in 0..<Self.mutexCount { pthread_mutex_init(mutexes + i, nil) }
        guard let share = curl_share_init() else { fatalError("curl_share_init failed") }
        handle = share
        _ = tg_share_setopt_ptr(share, CURLSHOPT_USERDATA, UnsafeMutableRawPointer(mutexes))
        _ = tg_share_setopt_lockfn(share, curlShareLock)
        _ = tg_share_setopt_unlockfn(share, curlShareUnlock)
        _ = tg_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_DNS.rawValue))
    }

    deinit {
        // Each CurlMulti holds this object until its own deinit has released its easy handles,
        // so none should be left. If one were (CURLSHE_IN_USE), curl could still take these
        // locks: they are then left allocated rather than destroyed under it.
        guard curl_share_cleanup(handle) == CURLSHE_OK else { return }
        for i in 0..<Self.mutexCount { pthread_mutex_destroy(mutexes + i) }
        mutexes.deallocate()
    }

    fileprivate static func mutex(_ userp: UnsafeMutableRawPointer?, _ data: curl_lock_data) -> UnsafeMutablePointer<pthread_mutex_t>? {
        let index = Int(data.rawValue)
        guard let userp, index >= 0, index < mutexCount else { return nil }
        return userp.assumingMemoryBound(to: pthread_mutex_t.self) + index
    }
}

// MARK: - C callbacks (capture nothing; the mutex array arrives as the user pointer)

// Shared and exclusive access are both taken exclusively: the DNS cache is a hash that curl
// also writes on lookups (timestamps, pruning), and the critical sections are short.
private let curlShareLock: curl_lock_function = { _, data, _, userp in
    if let mutex = CurlShare.mutex(userp, data) { pthread_mutex_lock(mutex) }
}

private let curlShareUnlock: curl_unlock_function = { _, data, userp in
    if let mutex = CurlShare.mutex(userp, data) { pthread_mutex_unlock(mutex) }
}
