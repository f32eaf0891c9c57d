// SPDX-License-Identifier: Apache-2.0
// `tollgate check-config FILE`: every problem at once as FILE:LINE: message; warnings do not fail.
import ArgumentParser
import TollgateConfig

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Validate a config file.")

    @Argument(help: "The config file to check.")
    var file: String

    func run() throws {
        let result = ConfigLoader.load(path: file, environment: ProcessEnvironment.current())
        for diagnostic in result.diagnostics { Console.error(diagnostic.description) }
        if result.hasErrors {
            Console.error("\(file): \(result.errors.count) error(s)")
            throw ExitCode(1)
        }
        Console.out("\(file): ok" + (result.warnings.isEmpty ? "" : " (\(result.warnings.count) warning(s))"))
    }
}
