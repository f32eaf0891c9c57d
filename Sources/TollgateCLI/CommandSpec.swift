// SPDX-License-Identifier: Apache-2.0
// One subcommand as data: its options and positionals. The parser reads the table; no command
// walks its own arguments, so a new command (or `report`'s seven options) is a new table.

/// What a subcommand accepts. Options are long-only (`--name value` or `--name=value`); the
/// built-in `-h`/`--help` and `--version` need no entry.
public struct CommandSpec: Sendable, Equatable {
    public let name: String
    /// One line for the command list and the top of the command's help.
    public let abstract: String
    public let options: [Option]
    /// Filled in order; each required one before any optional one.
    public let positionals: [Positional]

    public init(name: String, abstract: String, options: [Option] = [], positionals: [Positional] = []) {
        self.name = name
        self.abstract = abstract
        self.options = options
        self.positionals = positionals
    }

    public func option(named name: Substring) -> Option? {
        options.first { $0.name == name }
    }

    /// What an option's value must be; checked while parsing, so a bad value is a usage error
    /// (exit 64) before the command starts.
    public enum ValueKind: Sendable, Equatable {
        case text
        /// A decimal `Int` (sign allowed); out of range is an error, never a trap.
        case integer
        /// One of these words, exactly.
        case choice([String])
    }

    public enum Kind: Sendable, Equatable {
        /// Present or not; `--flag=value` is an error.
        case flag
        case value(ValueKind)
    }

    public struct Option: Sendable, Equatable {
        /// The long name without the leading `--`.
        public let name: String
        public let kind: Kind
        /// Shown in usage and help: `--config FILE`.
        public let placeholder: String
        public let help: String
        /// Used when the option is absent (and shown in help).
        public let defaultValue: String?
        /// Accepted but left out of usage and help (settings only tests need).
        public let isHidden: Bool

        /// `placeholder` defaults to the choices (`user|model`) for a `.choice`, else `VALUE`.
        public static func value(_ name: String, _ kind: ValueKind = .text, placeholder: String? = nil, help: String,
                                 default defaultValue: String? = nil, hidden: Bool = false) -> Option {
            let shown: String
            if let placeholder {
                shown = placeholder
            } else if case .choice(let choices) = kind {
                shown = choices.joined(separator: "|")
            } else {
                shown = "VALUE"
            }
            return Option(name: name, kind: .value(kind), placeholder: shown, help: help,
                          defaultValue: defaultValue, isHidden: hidden)
        }

        public static func flag(_ name: String, help: String, hidden: Bool = false) -> Option {
            Option(name: name, kind: .flag, placeholder: "", help: help, defaultValue: nil, isHidden: hidden)
        }
    }

    public struct Positional: Sendable, Equatable {
        /// Shown as `FILE` in usage; also the key the value is read back by.
        public let name: String
        public let help: String
        public let isRequired: Bool

        public init(_ name: String, help: String, required: Bool = true) {
            self.name = name
            self.help = help
            self.isRequired = required
        }
    }
}
