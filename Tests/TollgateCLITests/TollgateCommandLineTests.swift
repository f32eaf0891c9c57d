// SPDX-License-Identifier: Apache-2.0
// The real `tollgate` table (SPEC §1) and its mapping to typed invocations.
import Testing
import TollgateCore
import TollgateCLI

struct TollgateCommandLineTests {
    private func failure(_ arguments: [String]) -> UsageError? {
        do {
            _ = try TollgateCommandLine.parse(arguments)
            return nil
        } catch {
            return error
        }
    }

    @Test func serveDefaultsToTheQuickStartConfig() throws {
        #expect(try TollgateCommandLine.parse(["serve"]) == .serve(config: "Config/tollgate.yaml", upstreamDnsCacheSeconds: nil))
        #expect(try TollgateCommandLine.parse(["serve", "--config", "a.yaml"]) == .serve(config: "a.yaml", upstreamDnsCacheSeconds: nil))
    }

    @Test func serveTakesTheHiddenMeteringSwitch() throws {
        #expect(try TollgateCommandLine.parse(["serve", "--metering", "off"]) == .serve(config: "Config/tollgate.yaml", upstreamDnsCacheSeconds: nil, metering: false))
        #expect(try TollgateCommandLine.parse(["serve", "--metering=on"]) == .serve(config: "Config/tollgate.yaml", upstreamDnsCacheSeconds: nil, metering: true))
        #expect(throws: UsageError.self) { try TollgateCommandLine.parse(["serve", "--metering", "maybe"]) }
        #expect(!TollgateCommandLine.help.page(for: "serve").contains("metering"))
    }

    @Test func serveTakesTheHiddenDNSCacheSeconds() throws {
        #expect(try TollgateCommandLine.parse(["serve", "--config=a.yaml", "--upstream-dns-cache-seconds", "0"])
                == .serve(config: "a.yaml", upstreamDnsCacheSeconds: 0))
        #expect(failure(["serve", "--upstream-dns-cache-seconds", "soon"])
                == UsageError(.invalidValue(option: "upstream-dns-cache-seconds", value: "soon", expected: "an integer"), command: "serve"))
        #expect(!TollgateCommandLine.help.page(for: "serve").contains("dns"))
    }

    @Test func checkConfigNeedsExactlyOneFile() throws {
        #expect(try TollgateCommandLine.parse(["check-config", "c.yaml"]) == .checkConfig(file: "c.yaml"))
        #expect(try TollgateCommandLine.parse(["check-config", "--", "-c.yaml"]) == .checkConfig(file: "-c.yaml"))
        #expect(failure(["check-config"]) == UsageError(.missingArgument("FILE"), command: "check-config"))
        #expect(failure(["check-config", "a", "b"]) == UsageError(.unexpectedArgument("b"), command: "check-config"))
    }

    @Test func keygenAndVersion() throws {
        #expect(try TollgateCommandLine.parse(["keygen"]) == .keygen(user: nil))
        #expect(try TollgateCommandLine.parse(["keygen", "--user", "alice", "--user=bob"]) == .keygen(user: "bob"))
        #expect(try TollgateCommandLine.parse(["version"]) == .version)
        #expect(try TollgateCommandLine.parse(["--version"]) == .printVersion)
        #expect(failure(["version", "now"]) == UsageError(.unexpectedArgument("now"), command: "version"))
    }

    @Test func everyCommandHasAHelpPageAndItsUsageMatchesSpec() throws {
        let usages = TollgateCommandLine.program.commands.map { TollgateCommandLine.help.usage($0) }
        #expect(usages == ["tollgate serve [--config FILE]", "tollgate check-config FILE",
                           "tollgate keygen [--user NAME]",
                           "tollgate report [--config FILE] [--db FILE] [--since 1h|24h|7d|30d|YYYY-MM-DD] "
                           + "[--until 1h|24h|7d|30d|YYYY-MM-DD] [--by user|model|backend|day] [--what-if] "
                           + "[--prices FILE] [--format table|json|csv]",
                           "tollgate version"])
        for command in TollgateCommandLine.program.commands {
            let outcome = try TollgateCommandLine.parse([command.name, "--help"])
            #expect(outcome == .help(TollgateCommandLine.help.page(for: command.name)))
        }
        #expect(try TollgateCommandLine.parse([]) == .help(TollgateCommandLine.help.page(for: nil)))
    }

    @Test func everyCommandInTheTableMapsToAnInvocation() {
        // A table entry without a case in TollgateInvocation would surface here, not in a user's shell.
        for command in TollgateCommandLine.program.commands {
            let arguments = command.positionals.filter(\.isRequired).map { _ in "x" }
            #expect(failure([command.name] + arguments) == nil, "\(command.name)")
        }
    }

    @Test func reportDefaultsAndTypedOptions() throws {
        let defaults: TollgateInvocation = .report(ReportOptions(source: .config("Config/tollgate.yaml")))
        #expect(try TollgateCommandLine.parse(["report"]) == defaults)
        let everything = ReportOptions(source: .database("u.db"), since: .ago(seconds: 86_400),
                                       until: .day(CivilDate(daysSinceEpoch: 20_787)), grouping: .day, whatIf: true,
                                       prices: "p.yaml", format: .csv)
        let parsed = try TollgateCommandLine.parse(["report", "--db", "u.db", "--since", "24h", "--until=2026-11-30",
                                                    "--by", "day", "--what-if", "--prices", "p.yaml", "--format", "csv"])
        #expect(parsed == .report(everything))
        let week: TollgateInvocation = .report(ReportOptions(source: .config("c.yaml"), since: .ago(seconds: 604_800)))
        #expect(try TollgateCommandLine.parse(["report", "--config", "c.yaml", "--since", "7d"]) == week)
    }

    @Test func reportRefusesBadPeriodsAndBothSources() {
        #expect(failure(["report", "--config", "c.yaml", "--db", "u.db"])
                == UsageError(.conflictingOptions("config", "db"), command: "report"))
        for bad in ["yesterday", "0h", "1.5d", "1w", "2026-13-01", "2025-02-29", "2026-1-01", "1969-12-31", "99999999d", "h"] {
            #expect(failure(["report", "--since", bad])
                    == UsageError(.invalidValue(option: "since", value: bad, expected: PeriodBound.expected), command: "report"),
                    "\(bad)")
        }
        #expect(failure(["report", "--by", "week"])
                == UsageError(.invalidChoice(option: "by", value: "week", choices: ["user", "model", "backend", "day"]),
                              command: "report"))
    }
}
