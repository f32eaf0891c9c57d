// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import TollgateGateway

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version and the linked library versions.")

    func run() throws {
        Console.out(TollgateVersion.text)
        Console.out(Gateway.curlVersion)
    }
}
