// SPDX-License-Identifier: Apache-2.0
// `tollgate keygen`: a new client key and the digest line for the config. The key is shown once;
// the config keeps only `sha256:<hex>` (SPEC §7).
import ArgumentParser
import TollgateGateway

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a new API key and the sha256 line for the config.")

    @Option(name: .long, help: "User the key is for (only shown in the suggested config line).")
    var user: String?

    func run() throws {
        guard let key = ClientKeyGenerator.newKey() else {
            Console.error("tollgate keygen: no randomness available")
            throw ExitCode(1)
        }
        let digest = ClientKeyGenerator.configDigest(of: key)
        Console.out("key:    \(key)")
        Console.out("config: \(digest)")
        if let user {
            Console.out("")
            Console.out("users:\n  \(user):\n    keys: [\"\(digest)\"]")
        }
    }
}
