// SPDX-License-Identifier: Apache-2.0
// `tollgate keygen`: a new client key and the digest line for the config. The key is shown once;
// the config keeps only `sha256:<hex>` (SPEC §7).
import TollgateGateway

struct Keygen {
    /// Only shown in the suggested config line.
    let user: String?

    func run() -> Int32 {
        guard let key = ClientKeyGenerator.newKey() else {
            Console.error("tollgate keygen: no randomness available")
            return 1
        }
        let digest = ClientKeyGenerator.configDigest(of: key)
        Console.out("key:    \(key)")
        Console.out("config: \(digest)")
        if let user {
            Console.out("")
            Console.out("users:\n  \(user):\n    keys: [\"\(digest)\"]")
        }
        return 0
    }
}
