// SPDX-License-Identifier: Apache-2.0
// The `tollgate` command line (SPEC §1). Parsing and help live in TollgateCLI (a table per
// subcommand, unit-tested); this file only runs what was parsed. The hand-written parser
// replaced swift-argument-parser, which brought FoundationEssentials into the binary.
import Glibc
import TollgateCLI

@main
enum TollgateCommand {
    static func main() {
        let status: Int32
        do {
            status = run(try TollgateCommandLine.parse(Array(CommandLine.arguments.dropFirst())))
        } catch {
            Console.error(TollgateCommandLine.help.report(error))
            status = UsageError.exitStatus
        }
        exit(status)
    }

    private static func run(_ invocation: TollgateInvocation) -> Int32 {
        switch invocation {
        case .help(let page):
            Console.out(page)
            return 0
        case .printVersion:
            Console.out(TollgateCommandLine.versionLine)
            return 0
        case .serve(let config, let upstreamDnsCacheSeconds, let metering):
            return Serve(config: config, upstreamDnsCacheSeconds: upstreamDnsCacheSeconds, metering: metering).run()
        case .checkConfig(let file):
            return CheckConfig(file: file).run()
        case .keygen(let user):
            return Keygen(user: user).run()
        case .report(let options):
            return Report(options: options).run()
        case .version:
            return Version().run()
        }
    }
}
