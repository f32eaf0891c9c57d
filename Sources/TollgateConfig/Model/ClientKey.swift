// SPDX-License-Identifier: Apache-2.0
import TollgateCore
// A bearer key as the gateway keeps it: the SHA-256 digest, a short id for logs, and where it
// came from. The plaintext is dropped at load time except for a default written in the file,
// which is public anyway and which the CLI prints so the quick start works.

/// Where a key in the config came from.
public enum KeySource: Sendable, Equatable, CustomStringConvertible {
    /// Written as `sha256:<hex>` (possibly through a variable).
    case sha256Hash
    /// `${VAR}` taken from the environment.
    case environment(variable: String)
    /// The default of `${VAR:-default}` because VAR was unset or empty.
    case defaultValue(variable: String)
    /// Written literally in the file (accepted with a warning).
    case literal

    public var description: String {
        switch self {
        case .sha256Hash: return "sha256 hash"
        case .environment(let variable): return "$\(variable)"
        case .defaultValue(let variable): return "default of $\(variable)"
        case .literal: return "literal"
        }
    }
}

/// A client or admin key.
public struct ClientKey: Sendable, Equatable, CustomStringConvertible {
    /// SHA-256 of the key's UTF-8 bytes (32 bytes).
    public let digest: [UInt8]
    /// The first 8 hex digits of the digest: names the key in logs and the usage database
    /// without revealing it.
    public let keyID: String
    public let source: KeySource
    /// Line in the config (0 when built in code).
    public let line: Int
    /// The key itself, kept only when `source` is `.defaultValue` (e.g. the quick start's
    /// `${TOLLGATE_DEMO_KEY:-tg-demo-…}`), so `serve` can print it; nil otherwise.
    public let demoPlaintext: String?

    public init(digest: [UInt8], source: KeySource, line: Int = 0, demoPlaintext: String? = nil) {
        precondition(digest.count == SHA256.digestLength, "a ClientKey digest is 32 bytes")
        self.digest = digest
        self.keyID = ClientKey.keyID(of: digest)
        self.source = source
        self.line = line
        if case .defaultValue = source { self.demoPlaintext = demoPlaintext } else { self.demoPlaintext = nil }
    }

    /// Hashes `plaintext`; keeps it only for `.defaultValue` sources.
    public init(plaintext: String, source: KeySource = .literal, line: Int = 0) {
        self.init(digest: SHA256.hash(utf8: plaintext), source: source, line: line, demoPlaintext: plaintext)
    }

    /// The first 8 hex digits of the digest (32 bits of a hash of a high-entropy key reveal
    /// nothing usable, and are enough to tell keys apart in a report).
    public static func keyID(of digest: [UInt8]) -> String {
        SHA256.hex(digest.prefix(4))
    }

    /// Hashes the presented key and compares digests in constant time.
    public func matches(_ presented: some Collection<UInt8>) -> Bool {
        ConstantTime.equals(SHA256.hash(presented), digest)
    }

    /// Never the key or its digest: safe in logs.
    public var description: String { "key \(keyID) (\(source))" }
}

// The quick start must work without setting anything: Config/tollgate.yaml gives the demo
// user `${TOLLGATE_DEMO_KEY:-tg-demo-…}`. When that default is in use, `serve` says so and
// prints the key, since it is already public (it is in the file).

/// Start-up lines about keys whose plaintext comes from the config file itself.
public enum DemoKeys {
    /// One line per such key, e.g.
    /// `tollgate: demo key for user 'demo': tg-demo-… (default of $TOLLGATE_DEMO_KEY; set it to use your own)`.
    /// Empty when every key came from the environment, a hash or a literal.
    public static func announcements(_ config: GatewayConfig) -> [String] {
        config.demoKeys.compactMap { entry in
            guard let plaintext = entry.key.demoPlaintext else { return nil }
            let variable: String
            if case .defaultValue(let name) = entry.key.source { variable = name } else { variable = "?" }
            let owner = entry.user.map { "user '\($0)'" } ?? "admin"
            return "tollgate: demo key for \(owner): \(plaintext) (the default of $\(variable) in the config; set \(variable) to use your own)"
        }
    }
}
