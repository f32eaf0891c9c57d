// SPDX-License-Identifier: Apache-2.0
// `tollgate keygen`: a new client key and the digest line for the config. The key is shown once;
// the config keeps only `sha256:<hex>` (SPEC §7).
import ArgumentParser
import CLinux
import Glibc
import TollgateConfig
import TollgateCore

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a new API key and the sha256 line for the config.")

    @Option(name: .long, help: "User the key is for (only shown in the suggested config line).")
    var user: String?

    func run() throws {
        var random = [UInt8](repeating: 0, count: 24)
        let got = random.withUnsafeMutableBytes { getrandom($0.baseAddress, 24, 0) }
        guard got == 24 else {
            Console.error("tollgate keygen: no randomness available")
            throw ExitCode(1)
        }
        let key = "tg-" + SHA256.hex(random)
        let digest = "sha256:" + SHA256.hex(SHA256.hash(utf8: key))
        Console.out("key:    \(key)")
        Console.out("config: \(digest)")
        if let user {
            Console.out("")
            Console.out("users:\n  \(user):\n    keys: [\"\(digest)\"]")
        }
    }
}
