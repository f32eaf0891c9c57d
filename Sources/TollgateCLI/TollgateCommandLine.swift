// SPDX-License-Identifier: Apache-2.0
// The `tollgate` command line (SPEC §1) as a table: one `CommandSpec` per subcommand. Adding
// `report` is one more entry here and one case in `TollgateInvocation`.

public enum TollgateCommandLine {
    public static let version = "0.1.0"
    public static var versionLine: String { "tollgate \(version)" }

    static let serve = CommandSpec(
        name: "serve", abstract: "Run the gateway.",
        options: [
            .value("config", placeholder: "FILE", help: "Config file.", default: "Config/tollgate.yaml"),
            // Seconds a resolved backend name is kept (libcurl's CURLOPT_DNS_CACHE_TIMEOUT, 60 by
            // default). Hidden: not a setting users need, but tests set 0 so that every new
            // upstream connection resolves again (the resolver's descriptors are what they exercise).
            .value("upstream-dns-cache-seconds", .integer, placeholder: "N",
                   help: "Seconds a resolved upstream name is kept.", hidden: true),
            // `off`: no usage log and no usage counters — the baseline `make bench` measures
            // metering against (issue 9: on ≥ 0.95× off). Hidden: never a production setting.
            .value("metering", .choice(["on", "off"]), help: "Whether requests are metered.",
                   default: "on", hidden: true),
        ])

    static let checkConfig = CommandSpec(
        name: "check-config", abstract: "Validate a config file.",
        positionals: [.init("FILE", help: "The config file to check.")])

    static let keygen = CommandSpec(
        name: "keygen", abstract: "Print a new API key and the sha256 line for the config.",
        options: [.value("user", placeholder: "NAME", help: "User the key is for (only shown in the suggested config line).")])

    static let report = CommandSpec(
        name: "report", abstract: "Spend from the usage log; --what-if prices it on other backends and platforms.",
        options: [
            .value("config", placeholder: "FILE",
                   help: "Config whose storage.sqlite names the database (default Config/tollgate.yaml)."),
            .value("db", placeholder: "FILE", help: "The usage database itself (instead of --config)."),
            .value("since", placeholder: "1h|24h|7d|30d|YYYY-MM-DD", help: "Start of the period (UTC days).",
                   default: "30d"),
            .value("until", placeholder: "1h|24h|7d|30d|YYYY-MM-DD", help: "End of the period (default: now)."),
            .value("by", .choice(ReportOptions.Grouping.allCases.map(\.rawValue)), help: "Rows grouped by.",
                   default: "model"),
            .flag("what-if", help: "Price the period's traffic on every configured backend and price-list target."),
            .value("prices", placeholder: "FILE",
                   help: "What-if price list (default Config/prices.yaml when present); implies --what-if."),
            .value("format", .choice(ReportOptions.Format.allCases.map(\.rawValue)), help: "Output format.",
                   default: "table"),
        ])

    static let versionCommand = CommandSpec(
        name: "version", abstract: "Print the version and the linked library versions.")

    public static let program = ProgramSpec(
        name: "tollgate",
        abstract: "A self-hosted inference gateway that meters GPU time and cost.",
        commands: [serve, checkConfig, keygen, report, versionCommand])

    public static let help = HelpText(program: program)

    /// `arguments` without the program name.
    public static func parse(_ arguments: [String]) throws(UsageError) -> TollgateInvocation {
        switch try CommandLineParser(program: program).parse(arguments) {
        case .help(let command): return .help(help.page(for: command))
        case .version: return .printVersion
        case .run(let invocation): return try TollgateInvocation(invocation)
        }
    }
}
