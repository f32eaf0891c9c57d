// SPDX-License-Identifier: Apache-2.0

/// A parsed command line for one subcommand: option values (given or default), flags, and
/// positionals, read back by the names in its `CommandSpec`.
public struct Invocation: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case text(String)
        case integer(Int)
    }

    public let command: String
    public let values: [String: Value]
    public let flags: Set<String>
    public let positionals: [String: String]

    public init(command: String, values: [String: Value] = [:], flags: Set<String> = [],
                positionals: [String: String] = [:]) {
        self.command = command
        self.values = values
        self.flags = flags
        self.positionals = positionals
    }

    /// A `.text` or `.choice` option's value.
    public func text(_ option: String) -> String? {
        if case .text(let text)? = values[option] { return text }
        return nil
    }

    public func integer(_ option: String) -> Int? {
        if case .integer(let number)? = values[option] { return number }
        return nil
    }

    public func isSet(_ flag: String) -> Bool {
        flags.contains(flag)
    }

    public func positional(_ name: String) -> String? {
        positionals[name]
    }
}
