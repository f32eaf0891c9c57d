// SPDX-License-Identifier: Apache-2.0
import TollgateCore

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
    case report(ReportOptions)
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
        case TollgateCommandLine.report.name:
            self = .report(try Self.reportOptions(invocation))
        case TollgateCommandLine.versionCommand.name:
            self = .version
        default:
            throw UsageError(.unknownCommand(invocation.command), command: nil)
        }
    }

    private static func reportOptions(_ invocation: Invocation) throws(UsageError) -> ReportOptions {
        let command = invocation.command
        let source: ReportOptions.Source
        switch (invocation.text("config"), invocation.text("db")) {
        case (_?, _?): throw UsageError(.conflictingOptions("config", "db"), command: command)
        case (let config?, nil): source = .config(config)
        case (nil, let db?): source = .database(db)
        case (nil, nil): source = .config("Config/tollgate.yaml")
        }
        func time(_ option: String) throws(UsageError) -> PeriodBound? {
            guard let text = invocation.text(option) else { return nil }
            guard let time = PeriodBound.parse(text) else {
                throw UsageError(.invalidValue(option: option, value: text, expected: PeriodBound.expected), command: command)
            }
            return time
        }
        // The table's defaults fill since, by and format; a nil would mean the table and this
        // mapping disagree, so fall back to the same defaults rather than trap.
        return ReportOptions(
            source: source,
            since: try time("since") ?? .ago(seconds: 30 * 86_400),
            until: try time("until"),
            grouping: invocation.text("by").flatMap(ReportOptions.Grouping.init(rawValue:)) ?? .model,
            whatIf: invocation.isSet("what-if"),
            prices: invocation.text("prices"),
            format: invocation.text("format").flatMap(ReportOptions.Format.init(rawValue:)) ?? .table)
    }
}
