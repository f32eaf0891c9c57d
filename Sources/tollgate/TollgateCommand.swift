// SPDX-License-Identifier: Apache-2.0
// The `tollgate` command line (SPEC §1).
import ArgumentParser

@main
struct TollgateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tollgate",
        abstract: "A self-hosted inference gateway that meters GPU time and cost.",
        version: TollgateVersion.text,
        subcommands: [Serve.self, CheckConfig.self, Keygen.self, Version.self],
        defaultSubcommand: nil)
}

enum TollgateVersion {
    static let number = "0.1.0"
    static var text: String { "tollgate \(number)" }
}
