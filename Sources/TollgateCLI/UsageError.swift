// SPDX-License-Identifier: Apache-2.0

/// A command line the program cannot run. Reported as `tollgate: <message>` plus a usage hint
/// on stderr, exit 64.
public struct UsageError: Error, Equatable {
    /// EX_USAGE from sysexits.h ("the command was used incorrectly"), the status
    /// swift-argument-parser used before, so scripts see no change.
    public static let exitStatus: Int32 = 64

    public enum Reason: Sendable, Equatable {
        case unknownCommand(String)
        case unknownOption(String)
        case missingValue(option: String)
        /// `--config -x`: the next word starts with `-`, so it is not taken as the value.
        case valueLooksLikeOption(option: String, value: String)
        case flagTakesNoValue(option: String)
        case invalidChoice(option: String, value: String, choices: [String])
        case missingArgument(String)
        case unexpectedArgument(String)
        /// Two options that exclude each other (`report --config` and `--db`).
        case conflictingOptions(String, String)
        /// A value the option's own syntax refuses (`report --since yesterday`, `--limit ten`).
        case invalidValue(option: String, value: String, expected: String)
    }

    public let reason: Reason
    /// The subcommand whose usage the hint shows; nil for the program's own.
    public let command: String?

    public init(_ reason: Reason, command: String?) {
        self.reason = reason
        self.command = command
    }

    public var message: String {
        switch reason {
        case .unknownCommand(let name):
            return "unknown command '\(name)'"
        case .unknownOption(let token):
            return "unknown option '\(token)'"
        case .missingValue(let option):
            return "missing value for '--\(option)'"
        case .valueLooksLikeOption(let option, let value):
            return "missing value for '--\(option)': '\(value)' looks like an option (write --\(option)=\(value) if it is the value)"
        case .flagTakesNoValue(let option):
            return "'--\(option)' takes no value"
        case .invalidChoice(let option, let value, let choices):
            return "'--\(option)' is one of \(choices.joined(separator: ", ")), not '\(value)'"
        case .missingArgument(let name):
            return "missing argument \(name)"
        case .unexpectedArgument(let token):
            return "unexpected argument '\(token)'"
        case .conflictingOptions(let first, let second):
            return "'--\(first)' and '--\(second)' cannot be used together"
        case .invalidValue(let option, let value, let expected):
            return "'--\(option)' needs \(expected), not '\(value)'"
        }
    }
}
