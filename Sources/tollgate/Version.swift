// SPDX-License-Identifier: Apache-2.0
// `tollgate version`: ours and the linked libcurl's.
import TollgateCLI
import TollgateGateway

struct Version {
    func run() -> Int32 {
        Console.out(TollgateCommandLine.versionLine)
        Console.out(Gateway.curlVersion)
        return 0
    }
}
