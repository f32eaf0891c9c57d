// SPDX-License-Identifier: Apache-2.0
// `tollgate version`: ours and the linked libcurl's and SQLite's (SPEC §1).
import TollgateCLI
import TollgateGateway

struct Version {
    func run() -> Int32 {
        Console.out(TollgateCommandLine.versionLine)
        Console.out(Gateway.curlVersion)
        Console.out("SQLite/" + Gateway.sqliteVersion)
        return 0
    }
}
