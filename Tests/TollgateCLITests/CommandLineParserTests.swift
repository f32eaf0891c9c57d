// SPDX-License-Identifier: Apache-2.0
// The parser against a table shaped like `tollgate report` (SPEC §1): text, integer and choice
// options, a flag, an optional positional.
import Testing
import TollgateCLI

struct CommandLineParserTests {
    static let report = CommandSpec(
        name: "report", abstract: "Spend from the usage log.",
        options: [
            .value("config", placeholder: "FILE", help: "Config file.", default: "Config/tollgate.yaml"),
            .value("since", placeholder: "PERIOD", help: "Start of the period."),
            .value("by", .choice(["user", "model", "backend", "day"]), help: "Row key."),
            .value("limit", .integer, placeholder: "N", help: "Rows at most."),
            .flag("what-if", help: "Price the traffic on every target."),
        ],
        positionals: [.init("OUT", help: "Where to write.", required: false)])
    static let check = CommandSpec(name: "check", abstract: "Check a file.",
                                   positionals: [.init("FILE", help: "The file.")])
    static let program = ProgramSpec(name: "tool", abstract: "A test tool.", commands: [report, check])
    let parser = CommandLineParser(program: program)

    private func run(_ arguments: [String]) throws(UsageError) -> Invocation? {
        if case .run(let invocation) = try parser.parse(arguments) { return invocation }
        return nil
    }

    private func failure(_ arguments: [String]) -> UsageError? {
        do {
            _ = try parser.parse(arguments)
            return nil
        } catch {
            return error
        }
    }

    @Test func bothOptionSpellingsGiveTheSameValue() throws {
        let spaced = try run(["report", "--since", "7d", "--by", "model", "--limit", "5"])
        let joined = try run(["report", "--since=7d", "--by=model", "--limit=5"])
        #expect(spaced == joined)
        #expect(spaced?.text("since") == "7d")
        #expect(spaced?.text("by") == "model")
        #expect(spaced?.integer("limit") == 5)
    }

    @Test func equalsSplitsAtTheFirstEqualsSign() throws {
        #expect(try run(["report", "--since=a=b"])?.text("since") == "a=b")
        #expect(try run(["report", "--since="])?.text("since") == "")
    }

    @Test func defaultsFillAbsentOptionsAndAbsentOnesAreNil() throws {
        let invocation = try run(["report"])
        #expect(invocation?.text("config") == "Config/tollgate.yaml")
        #expect(invocation?.text("since") == nil)
        #expect(invocation?.integer("limit") == nil)
        #expect(invocation?.isSet("what-if") == false)
        #expect(invocation?.positional("OUT") == nil)
    }

    @Test func flagsAndPositionalsMixWithOptionsInAnyOrder() throws {
        let invocation = try run(["report", "out.csv", "--what-if", "--config", "c.yaml"])
        #expect(invocation == Invocation(command: "report",
                                         values: ["config": .text("c.yaml")],
                                         flags: ["what-if"], positionals: ["OUT": "out.csv"]))
    }

    @Test func aRepeatedOptionKeepsTheLastValue() throws {
        #expect(try run(["report", "--since", "1h", "--since=24h"])?.text("since") == "24h")
        #expect(try run(["report", "--what-if", "--what-if"])?.isSet("what-if") == true)
    }

    @Test func doubleDashEndsOptions() throws {
        #expect(try run(["check", "--", "--help"])?.positional("FILE") == "--help")
        #expect(try run(["check", "--", "-x"])?.positional("FILE") == "-x")
        #expect(try run(["report", "--since", "1h", "--", "--what-if"])
                == Invocation(command: "report", values: ["config": .text("Config/tollgate.yaml"), "since": .text("1h")],
                              positionals: ["OUT": "--what-if"]))
        // Only the first `--` is special.
        #expect(failure(["check", "--", "a", "--"]) == UsageError(.unexpectedArgument("--"), command: "check"))
    }

    @Test func aValueThatLooksLikeAnOptionNeedsTheEqualsSpelling() throws {
        #expect(failure(["report", "--config", "-x"])
                == UsageError(.valueLooksLikeOption(option: "config", value: "-x"), command: "report"))
        #expect(failure(["report", "--config", "--what-if"])
                == UsageError(.valueLooksLikeOption(option: "config", value: "--what-if"), command: "report"))
        #expect(failure(["report", "--config", "--"])
                == UsageError(.valueLooksLikeOption(option: "config", value: "--"), command: "report"))
        #expect(try run(["report", "--config=-x"])?.text("config") == "-x")
        #expect(try run(["report", "--config", "-"])?.text("config") == "-")
        #expect(try run(["report", "--limit=-3"])?.integer("limit") == -3)
    }

    @Test func aMissingValueAtTheEndIsAnError() {
        #expect(failure(["report", "--since"]) == UsageError(.missingValue(option: "since"), command: "report"))
    }

    @Test func unknownCommandsAndOptionsAreErrors() {
        #expect(failure(["bogus"]) == UsageError(.unknownCommand("bogus"), command: nil))
        #expect(failure(["--bogus"]) == UsageError(.unknownOption("--bogus"), command: nil))
        #expect(failure(["report", "--bogus"]) == UsageError(.unknownOption("--bogus"), command: "report"))
        #expect(failure(["report", "--bogus=1"]) == UsageError(.unknownOption("--bogus"), command: "report"))
        #expect(failure(["report", "-x"]) == UsageError(.unknownOption("-x"), command: "report"))
        #expect(failure(["report", "--"]) == nil)
        // Options are per command: check has no --since.
        #expect(failure(["check", "f", "--since", "1h"]) == UsageError(.unknownOption("--since"), command: "check"))
        // Options of a command come after it.
        #expect(failure(["--config", "c", "report"]) == UsageError(.unknownOption("--config"), command: nil))
    }

    @Test func positionalsAreCounted() {
        #expect(failure(["check"]) == UsageError(.missingArgument("FILE"), command: "check"))
        #expect(failure(["check", "a", "b"]) == UsageError(.unexpectedArgument("b"), command: "check"))
        #expect(failure(["report", "a", "b"]) == UsageError(.unexpectedArgument("b"), command: "report"))
    }

    @Test func integersAreCheckedWithoutTrapping() {
        for bad in ["x", "", "1.5", "0x10", "99999999999999999999", "-99999999999999999999", " 1"] {
            #expect(failure(["report", "--limit=\(bad)"])
                    == UsageError(.invalidValue(option: "limit", value: bad, expected: "an integer"), command: "report"))
        }
        #expect(failure(["report", "--limit", "ten"])
                == UsageError(.invalidValue(option: "limit", value: "ten", expected: "an integer"), command: "report"))
    }

    @Test func choicesAreCheckedExactly() throws {
        #expect(failure(["report", "--by", "User"])
                == UsageError(.invalidChoice(option: "by", value: "User", choices: ["user", "model", "backend", "day"]),
                              command: "report"))
        #expect(try run(["report", "--by", "day"])?.text("by") == "day")
    }

    @Test func aFlagTakesNoValue() {
        #expect(failure(["report", "--what-if=yes"]) == UsageError(.flagTakesNoValue(option: "what-if"), command: "report"))
    }

    @Test func helpAnywhereBeforeDoubleDashWinsOverErrors() throws {
        #expect(try parser.parse([]) == .help(command: nil))
        #expect(try parser.parse(["--help"]) == .help(command: nil))
        #expect(try parser.parse(["-h"]) == .help(command: nil))
        #expect(try parser.parse(["report", "--help"]) == .help(command: "report"))
        #expect(try parser.parse(["report", "--bogus", "-h"]) == .help(command: "report"))
        #expect(try parser.parse(["report", "--since", "--help"]) == .help(command: "report"))
        #expect(try parser.parse(["bogus", "--help"]) == .help(command: nil))
        #expect(try parser.parse(["help"]) == .help(command: nil))
        #expect(try parser.parse(["help", "check"]) == .help(command: "check"))
        #expect(failure(["help", "bogus"]) == UsageError(.unknownCommand("bogus"), command: nil))
        #expect(failure(["help", "check", "x"]) == UsageError(.unexpectedArgument("x"), command: nil))
        // After `--`, `--help` is a value like any other.
        #expect(try run(["check", "--", "-h"])?.positional("FILE") == "-h")
        // `--since=--help` is a value too.
        #expect(try run(["report", "--since=--help"])?.text("since") == "--help")
    }

    @Test func versionIsRecognisedAtTopLevelAndInCommands() throws {
        #expect(try parser.parse(["--version"]) == .version)
        #expect(try parser.parse(["report", "--version"]) == .version)
        #expect(try parser.parse(["report", "--version", "--help"]) == .help(command: "report"))
        #expect(try run(["check", "--", "--version"])?.positional("FILE") == "--version")
    }
}
