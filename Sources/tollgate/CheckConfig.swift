// SPDX-License-Identifier: Apache-2.0
// `tollgate check-config FILE`: every problem at once as FILE:LINE: message; warnings do not fail.
import TollgateConfig

struct CheckConfig {
    let file: String

    /// 0 when the config has no errors (warnings allowed), 1 otherwise.
    func run() -> Int32 {
        let result = ConfigLoader.load(path: file, environment: ProcessEnvironment.current())
        for diagnostic in result.diagnostics { Console.error(diagnostic.description) }
        if result.hasErrors {
            Console.error("\(file): \(result.errors.count) error(s)")
            return 1
        }
        Console.out("\(file): ok" + (result.warnings.isEmpty ? "" : " (\(result.warnings.count) warning(s))"))
        return 0
    }
}
