// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateCLI

struct HelpTextTests {
    let help = HelpText(program: CommandLineParserTests.program)

    @Test func usageListsEveryVisibleOptionAndPositional() {
        #expect(help.usage(CommandLineParserTests.report)
                == "tool report [--config FILE] [--since PERIOD] [--by user|model|backend|day] [--limit N] [--what-if] [OUT]")
        #expect(help.usage(CommandLineParserTests.check) == "tool check FILE")
    }

    @Test func hiddenOptionsStayOutOfUsageAndHelp() throws {
        let spec = CommandSpec(name: "serve", abstract: "Serve.",
                               options: [.value("secret-knob", .integer, placeholder: "N", help: "For tests.", hidden: true)])
        let program = ProgramSpec(name: "tool", abstract: "A test tool.", commands: [spec])
        let text = HelpText(program: program)
        #expect(text.usage(spec) == "tool serve")
        #expect(!text.page(for: "serve").contains("secret-knob"))
        // Hidden, but accepted.
        let outcome = try CommandLineParser(program: program).parse(["serve", "--secret-knob", "0"])
        #expect(outcome == .run(Invocation(command: "serve", values: ["secret-knob": .integer(0)])))
    }

    @Test func commandPageShowsDefaultsAndHelp() {
        let page = help.page(for: "report")
        #expect(page.hasPrefix("Spend from the usage log.\n\nusage: tool report "))
        #expect(page.contains("--config FILE"))
        #expect(page.contains("Config file. (default: Config/tollgate.yaml)"))
        #expect(page.contains("arguments:\n  OUT"))
        #expect(page.contains("-h, --help"))
    }

    @Test func programPageListsEveryCommand() {
        let page = help.page(for: nil)
        #expect(page.hasPrefix("tool: A test tool.\n\nusage: tool <command> [options]"))
        // Commands and options share one column, as wide as "-h, --help".
        #expect(page.contains("  report       Spend from the usage log.\n  check        Check a file."))
        #expect(page.contains("  -h, --help   Show this help.\n  --version    Show the version."))
    }

    @Test func errorReportNamesTheProgramAndPointsAtTheRightHelp() {
        #expect(help.report(UsageError(.unknownOption("--bogus"), command: "check"))
                == "tool: unknown option '--bogus'\nusage: tool check FILE\nSee 'tool check --help'.")
        #expect(help.report(UsageError(.unknownCommand("bogus"), command: nil))
                == "tool: unknown command 'bogus'\nusage: tool <command> [options]\nSee 'tool --help'.")
    }
}
