// SPDX-License-Identifier: Apache-2.0

/// A program with subcommands: `name <command> [options]`.
public struct ProgramSpec: Sendable, Equatable {
    public let name: String
    public let abstract: String
    public let commands: [CommandSpec]

    public init(name: String, abstract: String, commands: [CommandSpec]) {
        self.name = name
        self.abstract = abstract
        self.commands = commands
    }

    public func command(named name: String) -> CommandSpec? {
        commands.first { $0.name == name }
    }
}
