// SPDX-License-Identifier: Apache-2.0
// Bearer key → user. Only SHA-256 digests are held (SPEC §7: the config stores `sha256:` hashes
// or literal keys hashed at load), so a memory dump or a log line never yields a usable key.
import TollgateCore

/// A client key as stored: its SHA-256 digest, never the key.
public struct KeyPlan: Sendable {
    public var digest: [UInt8]
    /// Index into the table's users.
    public var user: Int
    /// Short non-secret id for logs (SPEC §5: the first 8 hex digits of the digest).
    public var keyID: String

    public init(digest: [UInt8], user: Int, keyID: String) {
        self.digest = digest
        self.user = user
        self.keyID = keyID
    }
}

/// Who made a request: the user its key belongs to and that key's log id.
public struct Caller: Sendable {
    public var user: UserPlan
    public var keyID: String

    public init(user: UserPlan, keyID: String) {
        self.user = user
        self.keyID = keyID
    }
}

/// The one key check (SPEC §7): hash the presented key, look the digest up, confirm the match in
/// constant time. The lookup by digest leaks nothing about the key (an attacker who can time it
/// learns which digests are absent, which needs a preimage to exploit).
public struct KeyTable: Sendable {
    public let users: [UserPlan]
    private let entries: [[UInt8]: KeyPlan]
    /// SHA-256 of `admin.key`; nil when the admin API is off.
    private let adminDigest: [UInt8]?

    /// What a presented key is, for the routes that need the admin key (SPEC §3: 401 for no or
    /// an unknown key, 403 for a user's key).
    public enum Verdict: Sendable, Equatable {
        case admin
        case user
        case unknown
    }

    /// Keys whose `user` is not an index into `users` are left out (never a trap).
    public init(users: [UserPlan], keys: [KeyPlan], adminDigest: [UInt8]? = nil) {
        self.users = users
        self.adminDigest = adminDigest
        var table: [[UInt8]: KeyPlan] = [:]
        for key in keys where users.indices.contains(key.user) { table[key.digest] = key }
        entries = table
    }

    public func authenticate(key: String) -> Caller? {
        authenticate(digest: SHA256.hash(utf8: key))
    }

    private func authenticate(digest: [UInt8]) -> Caller? {
        guard let entry = entries[digest], ConstantTime.equals(entry.digest, digest) else { return nil }
        return Caller(user: users[entry.user], keyID: entry.keyID)
    }

    /// Whether `admin.key` is set (the admin API is on).
    public var hasAdminKey: Bool { adminDigest != nil }

    /// The admin key, a user's key, or neither; the admin digest is compared in constant time.
    public func classify(key: String) -> Verdict {
        let digest = SHA256.hash(utf8: key)
        if let adminDigest, ConstantTime.equals(adminDigest, digest) { return .admin }
        return authenticate(digest: digest) == nil ? .unknown : .user
    }
}
