// SPDX-License-Identifier: Apache-2.0
// `program <command> [--opt value | --opt=value | positional]... [-- positional...]`, read from a
// `ProgramSpec`. The conventions are getopt_long's and swift-argument-parser's, so nothing
// changes for users of the old parser:
// - options and positionals may come in any order; `--` ends the options;
// - a repeated option: the last one wins (as in getopt_long and the old parser), so a wrapper
//   script can append an override;
// - a spaced value must not look like an option: `--config -x` is "missing value" (a typo such
//   as `--config --help` is caught instead of eaten); `--config=-x` passes it, and `-` alone is
//   a value;
// - `-h`/`--help` anywhere before `--` shows the help of the command it follows, even on a
//   line that has other errors; then `--version`.

public enum ParseOutcome: Sendable, Equatable {
    /// Print the help of this command (nil: the program's), exit 0.
    case help(command: String?)
    /// Print the version, exit 0.
    case version
    case run(Invocation)
}

public struct CommandLineParser: Sendable {
    public let program: ProgramSpec

    public init(program: ProgramSpec) {
        self.program = program
    }

    /// `arguments` without the program name (`CommandLine.arguments.dropFirst()`).
    public func parse(_ arguments: [String]) throws(UsageError) -> ParseOutcome {
        // No command at all: the overview, as `git` and the old parser do.
        guard let first = arguments.first else { return .help(command: nil) }
        if first == "help" { return try helpCommand(Array(arguments.dropFirst())) }

        let command = program.command(named: first)
        let rest = command == nil ? arguments[...] : arguments.dropFirst()
        let beforeTerminator = rest.prefix { $0 != "--" }
        if beforeTerminator.contains(where: { $0 == "--help" || $0 == "-h" }) {
            return .help(command: command?.name)
        }
        if beforeTerminator.contains("--version") { return .version }

        guard let command else {
            throw UsageError(Self.looksLikeOption(first) ? .unknownOption(first) : .unknownCommand(first), command: nil)
        }
        return .run(try parse(Array(rest), for: command))
    }

    /// `help [command]`.
    private func helpCommand(_ arguments: [String]) throws(UsageError) -> ParseOutcome {
        guard let name = arguments.first else { return .help(command: nil) }
        guard let command = program.command(named: name) else {
            throw UsageError(.unknownCommand(name), command: nil)
        }
        if arguments.count > 1 { throw UsageError(.unexpectedArgument(arguments[1]), command: nil) }
        return .help(command: command.name)
    }

    private func parse(_ arguments: [String], for command: CommandSpec) throws(UsageError) -> Invocation {
        var values: [String: Invocation.Value] = [:]
        var flags: Set<String> = []
        var loose: [String] = []
        var optionsEnded = false
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let token = arguments[index]
            index += 1
            if optionsEnded || !Self.looksLikeOption(token) {
                loose.append(token)
                continue
            }
            if token == "--" {
                optionsEnded = true
                continue
            }
            // Long options only; the one short option (-h) was handled above.
            guard token.hasPrefix("--") else { throw UsageError(.unknownOption(token), command: command.name) }
            let body = token.dropFirst(2)
            let equals = body.firstIndex(of: "=")
            let name = equals.map { body[..<$0] } ?? body
            guard let option = command.option(named: name) else {
                throw UsageError(.unknownOption("--" + name), command: command.name)
            }
            switch option.kind {
            case .flag:
                if equals != nil { throw UsageError(.flagTakesNoValue(option: option.name), command: command.name) }
                flags.insert(option.name)
            case .value(let kind):
                let text: String
                if let equals {
                    text = String(body[body.index(after: equals)...])
                } else if index < arguments.endIndex {
                    let next = arguments[index]
                    guard !Self.looksLikeOption(next) else {
                        throw UsageError(.valueLooksLikeOption(option: option.name, value: next), command: command.name)
                    }
                    text = next
                    index += 1
                } else {
                    throw UsageError(.missingValue(option: option.name), command: command.name)
                }
                values[option.name] = try Self.value(text, of: kind, for: option.name, command: command.name)
            }
        }

        var positionals: [String: String] = [:]
        for (slot, token) in loose.enumerated() {
            guard slot < command.positionals.count else {
                throw UsageError(.unexpectedArgument(token), command: command.name)
            }
            positionals[command.positionals[slot].name] = token
        }
        if let missing = command.positionals.first(where: { $0.isRequired && positionals[$0.name] == nil }) {
            throw UsageError(.missingArgument(missing.name), command: command.name)
        }
        for option in command.options where values[option.name] == nil {
            guard let fallback = option.defaultValue, case .value(let kind) = option.kind else { continue }
            values[option.name] = try Self.value(fallback, of: kind, for: option.name, command: command.name)
        }
        return Invocation(command: command.name, values: values, flags: flags, positionals: positionals)
    }

    private static func value(_ text: String, of kind: CommandSpec.ValueKind, for option: String,
                              command: String) throws(UsageError) -> Invocation.Value {
        switch kind {
        case .text:
            return .text(text)
        case .integer:
            // Int(_:) returns nil on overflow and on anything but [+-]digits: no trap.
            guard let number = Int(text) else {
                throw UsageError(.invalidValue(option: option, value: text, expected: "an integer"), command: command)
            }
            return .integer(number)
        case .choice(let choices):
            guard choices.contains(text) else {
                throw UsageError(.invalidChoice(option: option, value: text, choices: choices), command: command)
            }
            return .text(text)
        }
    }

    /// `-x`, `--x`, `--`; not `-` (stdin by convention) and not the empty string.
    static func looksLikeOption(_ token: String) -> Bool {
        token.count > 1 && token.hasPrefix("-")
    }
}
