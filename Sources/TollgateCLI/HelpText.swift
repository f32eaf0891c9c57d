// SPDX-License-Identifier: Apache-2.0
// Usage lines, help pages and error reports, all derived from the `ProgramSpec` so the help
// cannot drift from what the parser accepts.

public struct HelpText: Sendable {
    public let program: ProgramSpec

    public init(program: ProgramSpec) {
        self.program = program
    }

    /// `tollgate serve [--config FILE]`; hidden options are left out.
    public func usage(_ command: CommandSpec) -> String {
        var parts = [program.name, command.name]
        for option in command.options where !option.isHidden {
            switch option.kind {
            case .flag: parts.append("[--\(option.name)]")
            case .value: parts.append("[--\(option.name) \(option.placeholder)]")
            }
        }
        for positional in command.positionals {
            parts.append(positional.isRequired ? positional.name : "[\(positional.name)]")
        }
        return parts.joined(separator: " ")
    }

    public var programUsage: String { "\(program.name) <command> [options]" }

    /// The page for `--help`: the command's (nil: the program's). Ends without a newline.
    public func page(for commandName: String?) -> String {
        guard let commandName, let command = program.command(named: commandName) else { return programPage }
        var lines = [command.abstract, "", "usage: \(usage(command))"]
        if !command.positionals.isEmpty {
            lines += ["", "arguments:"]
            lines += table(command.positionals.map { ($0.name, $0.help) })
        }
        var rows: [(String, String)] = []
        for option in command.options where !option.isHidden {
            var left = "--\(option.name)"
            if case .value = option.kind { left += " \(option.placeholder)" }
            var help = option.help
            if let fallback = option.defaultValue { help += " (default: \(fallback))" }
            rows.append((left, help))
        }
        rows.append(("-h, --help", "Show this help."))
        lines += ["", "options:"] + table(rows)
        return lines.joined(separator: "\n")
    }

    private var programPage: String {
        let commands = program.commands.map { ($0.name, $0.abstract) }
        let options = [("-h, --help", "Show this help."), ("--version", "Show the version.")]
        let width = (commands + options).map(\.0.count).max() ?? 0
        var lines = ["\(program.name): \(program.abstract)", "", "usage: \(programUsage)", "", "commands:"]
        lines += table(commands, width: width)
        lines += ["", "options:"]
        lines += table(options, width: width)
        lines += ["", "See '\(program.name) help <command>' or '\(program.name) <command> --help' for a command's options."]
        return lines.joined(separator: "\n")
    }

    /// What stderr gets for a usage error: the message, the usage line, where help is.
    /// Ends without a newline.
    public func report(_ error: UsageError) -> String {
        let command = error.command.flatMap { program.command(named: $0) }
        let usageLine = command.map { usage($0) } ?? programUsage
        let helpHint = command.map { "\(program.name) \($0.name) --help" } ?? "\(program.name) --help"
        return "\(program.name): \(error.message)\nusage: \(usageLine)\nSee '\(helpHint)'."
    }

    /// Two columns; the left one `width` wide (default: its longest entry) plus three spaces.
    private func table(_ rows: [(String, String)], width: Int? = nil) -> [String] {
        let width = width ?? rows.map(\.0.count).max() ?? 0
        return rows.map { left, right in
            "  " + left + String(repeating: " ", count: width - left.count + 3) + right
        }
    }
}
