// SPDX-License-Identifier: Apache-2.0

/// What `tollgate` was asked to do, typed: the executable switches over it exhaustively and
/// never looks an option up by name.
public enum TollgateInvocation: Sendable, Equatable {
    /// Print this page to stdout, exit 0.
    case help(String)
    /// `--version`: the version line only.
    case printVersion
    /// `metering`: false only for the benchmark's baseline (`--metering off`, hidden).
    case serve(config: String, upstreamDnsCacheSeconds: Int?, metering: Bool = true)
    case checkConfig(file: String)
    case keygen(user: String?)
    /// `tollgate version`: the version and the linked libraries'.
    case version

    init(_ invocation: Invocation) throws(UsageError) {
        // The parser has already enforced required positionals and filled defaults; a nil here
        // means the table and this mapping disagree, reported as a usage error rather than a trap.
        func required(_ value: String?, _ name: String) throws(UsageError) -> String {
            guard let value else { throw UsageError(.missingArgument(name), command: invocation.command) }
            return value
        }
        switch invocation.command {
        case TollgateCommandLine.serve.name:
            self = .serve(config: try required(invocation.text("config"), "--config"),
                          upstreamDnsCacheSeconds: invocation.integer("upstream-dns-cache-seconds"),
                          metering: invocation.text("metering") != "off")
        case TollgateCommandLine.checkConfig.name:
            self = .checkConfig(file: try required(invocation.positional("FILE"), "FILE"))
        case TollgateCommandLine.keygen.name:
            self = .keygen(user: invocation.text("user"))
        case TollgateCommandLine.versionCommand.name:
            self = .version
        default:
            throw UsageError(.unknownCommand(invocation.command), command: nil)
        }
    }
}
