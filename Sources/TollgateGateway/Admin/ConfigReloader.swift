// SPDX-License-Identifier: Apache-2.0
// The one reload of the config, whatever asked for it (SIGHUP or `POST /admin/reload`): read the
// file again; if it has errors, report them and keep the running config; otherwise build a new
// plan and hand it to every loop (requests in flight finish on the plan they started with).
// Runs on the signal thread only (`tollgate serve`'s main thread): it reads the file and
// builds the plan there, never on a loop, and two reloads never overlap.
public import TollgateConfig

public final class ConfigReloader {
    private let path: String
    private let environment: () -> [String: String]
    private let log: (String) -> Void
    /// What only a restart changes, as the process started with it: the `server:` section
    /// and `defaults.timezone` (the quota calendar). Compared with every reload's file, not
    /// the last reload's, since a reload never applies them.
    private let startedServer: ServerConfig
    private let startedTimezone: String

    /// - Parameters:
    ///   - path: the config file as named on the command line.
    ///   - environment: read at each reload (`${VAR}` expands against it).
    ///   - current: the config the gateway started with.
    ///   - log: one operator line (stderr).
    public init(path: String, environment: @escaping () -> [String: String], current: GatewayConfig,
                log: @escaping (String) -> Void) {
        self.path = path
        self.environment = environment
        self.startedServer = current.server
        self.startedTimezone = current.defaults.timezone
        self.log = log
    }

    /// SIGHUP: reloads into `gateway`, answering every `POST /admin/reload` queued so far too.
    @discardableResult
    public func reloadOnSignal(_ gateway: Gateway) -> ReloadOutcome {
        reload(gateway, trigger: "SIGHUP", answering: gateway.reloadRequests.take())
    }

    /// `POST /admin/reload`: reloads for the requests queued so far; nil when a reload since
    /// the wake-up already answered them.
    @discardableResult
    public func reloadOnRequest(_ gateway: Gateway) -> ReloadOutcome? {
        let waiters = gateway.reloadRequests.take()
        guard !waiters.isEmpty else { return nil }
        return reload(gateway, trigger: "POST /admin/reload", answering: waiters)
    }

    /// The one reload. `waiters` get the outcome once every loop runs the new plan, so a 200
    /// means it is in force.
    private func reload(_ gateway: Gateway, trigger: String, answering waiters: [ReloadRequests.Waiter]) -> ReloadOutcome {
        let result = ConfigLoader.load(path: path, environment: environment())
        for diagnostic in result.diagnostics { log(diagnostic.description) }
        guard let fresh = result.config else {
            log("tollgate: reload (\(trigger)): \(path) has errors; keeping the running config")
            let outcome = ReloadOutcome.invalid(file: path, errors: result.errors.map(\.description))
            ReloadRequests.answer(waiters, with: outcome)
            return outcome
        }
        let serverChanged = fresh.server != startedServer
        let zoneChanged = fresh.defaults.timezone != startedTimezone
        if serverChanged {
            log("tollgate: reload (\(trigger)): changes under server: take effect after a restart")
        }
        if zoneChanged {
            log("tollgate: reload (\(trigger)): defaults.timezone (the quota calendar) takes effect after a restart")
        }
        let restartRequired = serverChanged || zoneChanged
        let summary = ReloadSummary(file: path, backends: fresh.backends.count, models: fresh.models.count,
                                    users: fresh.users.count, keys: fresh.users.reduce(0) { $0 + $1.keys.count },
                                    warnings: result.warnings.map(\.description),
                                    restartRequired: restartRequired)
        let outcome = ReloadOutcome.reloaded(summary)
        gateway.reload(GatewayPlan(config: fresh, board: gateway.plan.board)) { ReloadRequests.answer(waiters, with: outcome) }
        log("tollgate: reloaded \(path) (\(trigger)): \(summary.backends) backends, \(summary.models) models, \(summary.users) users")
        return outcome
    }
}
