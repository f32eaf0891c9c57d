// SPDX-License-Identifier: Apache-2.0
// `tollgate report` (SPEC §1): spend from the usage log, grouped by user, model, backend or day;
// `--what-if` prices the same traffic on every configured backend and every price-list target.
// Exit 0 with the report; 1 when the database, config or price list cannot be read (named on
// stderr); 64 for a period that ends before it starts.
import Glibc
import TollgateCLI
import TollgateConfig
import TollgateCore
import TollgateMetering

struct Report {
    let options: ReportOptions
    /// The price list used when `--prices` is absent and the file exists (SPEC §1).
    static let defaultPrices = "Config/prices.yaml"

    func run() -> Int32 {
        let environment = ProcessEnvironment.current()
        var config: GatewayConfig?
        let databasePath: String
        switch options.source {
        case .database(let path):
            databasePath = path
        case .config(let path):
            let result = ConfigLoader.load(path: path, environment: environment)
            for diagnostic in result.errors { Console.error(diagnostic.description) }
            guard let loaded = result.config else {
                Console.error("tollgate report: \(path) has errors; pass the database with --db FILE instead")
                return 1
            }
            config = loaded
            databasePath = loaded.storage.sqlite
        }

        let now = Self.nowMilliseconds()
        let period = ReportPeriod(startMs: options.since.unixMilliseconds(nowMs: now),
                                  endMs: options.until.map { $0.unixMilliseconds(nowMs: now) } ?? now)
        guard period.startMs < period.endMs else {
            Console.error("tollgate: the period is empty: --since \(ReportPeriod.timestampText(unixMs: period.startMs)) "
                          + "is not before --until \(ReportPeriod.timestampText(unixMs: period.endMs))")
            return UsageError.exitStatus
        }

        var targets: [WhatIfTarget]?
        if options.whatIf || options.prices != nil {
            guard let found = whatIfTargets(config: config, environment: environment) else { return 1 }
            targets = found
        }

        let report: UsageReport
        do {
            let query = try UsageReportQuery(path: databasePath)
            report = try UsageReport.build(from: query, period: period, grouping: Self.grouping(options.grouping),
                                           targets: targets)
        } catch {
            Console.error("tollgate report: \(error)")
            return 1
        }
        Console.out(ReportRenderer.render(report, as: Self.format(options.format)))
        return 0
    }

    /// The config's priced backends, then the price list's targets; nil (reported) when the
    /// price list has errors.
    private func whatIfTargets(config: GatewayConfig?, environment: [String: String]) -> [WhatIfTarget]? {
        var targets: [WhatIfTarget] = []
        for backend in config?.backends ?? [] {
            guard let pricing = backend.pricing else { continue }
            targets.append(WhatIfTarget(name: backend.name, cost: pricing.costModel,
                                        maxConcurrency: backend.maxConcurrency, origin: .backend,
                                        notes: "configured backend (\(backend.kind.rawValue))"))
        }
        let path = options.prices ?? (access(Self.defaultPrices, F_OK) == 0 ? Self.defaultPrices : nil)
        guard let path else { return targets }
        let result = PricesLoader.load(path: path, environment: environment)
        for diagnostic in result.diagnostics { Console.error(diagnostic.description) }
        guard let priced = result.targets else {
            Console.error("tollgate report: \(path) has errors")
            return nil
        }
        for target in priced {
            targets.append(WhatIfTarget(name: target.name, cost: target.pricing.costModel,
                                        maxConcurrency: target.maxConcurrency,
                                        sleepAfterMs: target.sleepAfter.map { Int64($0.milliseconds) },
                                        coldStartMs: Int64(target.coldStart.milliseconds), origin: .prices,
                                        source: target.source, asOf: target.asOf, notes: target.notes))
        }
        return targets
    }


    /// The wall clock in unix milliseconds, rounded up: a row logged earlier in the current
    /// millisecond is inside a period that ends now (truncating to the second lost the rows of
    /// the current second).
    private static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let (whole, part) = Int64(now.tv_nsec).quotientAndRemainder(dividingBy: 1_000_000)
        return Int64(now.tv_sec) * 1_000 + whole + (part > 0 ? 1 : 0)
    }

    private static func grouping(_ grouping: ReportOptions.Grouping) -> ReportGrouping {
        switch grouping {
        case .user: return .user
        case .model: return .model
        case .backend: return .backend
        case .day: return .day
        }
    }

    private static func format(_ format: ReportOptions.Format) -> ReportRenderer.Format {
        switch format {
        case .table: return .table
        case .json: return .json
        case .csv: return .csv
        }
    }
}
