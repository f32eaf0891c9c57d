// SPDX-License-Identifier: Apache-2.0
// New client keys for `tollgate keygen`: 24 bytes from the kernel's CSPRNG (getrandom(2)),
// written as `tg-` + hex. Only the digest goes into the config (SPEC §7).
import CLinux
import TollgateCore

public enum ClientKeyGenerator {
    /// A new key, or nil when the kernel gives no randomness (never a weaker fallback).
    public static func newKey() -> String? {
        var random = [UInt8](repeating: 0, count: 24)
        let got = random.withUnsafeMutableBytes { getrandom($0.baseAddress, 24, 0) }
        guard got == 24 else { return nil }
        return "tg-" + SHA256.hex(random)
    }

    /// The config's form of a key: `sha256:<hex>`.
    public static func configDigest(of key: String) -> String {
        "sha256:" + SHA256.hex(SHA256.hash(utf8: key))
    }
}
