// SPDX-License-Identifier: Apache-2.0
// `tollgate serve`: load the config, start the loops, then wait on a signalfd in the main
// thread: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the config (a config with errors is
// reported and the running one kept).
import ArgumentParser
import TollgateConfig
import TollgateGateway

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway.")

    @Option(name: .long, help: "Config file.")
    var config: String = "Config/tollgate.yaml"

    /// Seconds a resolved backend name is kept (libcurl's CURLOPT_DNS_CACHE_TIMEOUT, 60 by
    /// default). Hidden: not a setting users need, but tests set 0 so that every new upstream
    /// connection resolves again (the resolver's descriptors are what they exercise).
    @Option(name: .long, help: .hidden)
    var upstreamDnsCacheSeconds: Int?

    func run() throws {
        OpenFileLimit.raiseToHardLimit()
        let result = ConfigLoader.load(path: config, environment: ProcessEnvironment.current())
        for diagnostic in result.diagnostics { Console.error(diagnostic.description) }
        guard let loaded = result.config else {
            Console.error("tollgate: \(config) has errors; not starting")
            throw ExitCode(2)
        }
        for key in result.inertKeys {
            Console.error("\(config):\(key.line): warning: `\(key.path)` is accepted but has no effect in this version: \(key.reason)")
        }
        // Signals are blocked before any thread exists, so every thread inherits the mask.
        let signals: ProcessSignals
        switch ProcessSignals.capture() {
        case .success(let captured): signals = captured
        case .failure(let error):
            Console.error("tollgate: cannot create the signal descriptor: \(error.reason)")
            throw ExitCode(1)
        }
        let plan = GatewayPlan(config: loaded)
        for (name, reason) in plan.unavailableBackends {
            Console.error("tollgate: warning: backend '\(name)': \(reason); models fail over past it")
        }
        let gateway: Gateway
        do {
            let (started, address) = try Gateway.launch(config: loaded, plan: plan, upstreamDnsCacheSeconds: upstreamDnsCacheSeconds)
            gateway = started
            Console.error("tollgate: listening on \(address)")
        } catch {
            Console.error("tollgate: \(error)")
            throw ExitCode(1)
        }
        for line in DemoKeys.announcements(loaded) { Console.error(line) }
        waitLoop: while true {
            guard let signal = signals.next() else {
                Console.error("tollgate: reading the signal descriptor failed (\(signals.lastErrorText)); stopping")
                break
            }
            switch signal {
            case .reload: reload(gateway, current: loaded)
            case .stop: break waitLoop
            }
        }
        Console.error("tollgate: draining (up to \(loaded.server.drainTimeout); a second SIGTERM or SIGINT stops at once)")
        let clean = gateway.shutdown(signals: signals)
        if clean {
            Console.error("tollgate: stopped")
        } else if signals.secondStopReceived {
            Console.error("tollgate: stopped at a second signal; connections still open were closed")
        } else {
            Console.error("tollgate: stopped; connections still open at the drain deadline were closed")
        }
    }

    /// SIGHUP: load the file again; if it is valid, new requests use it (backends, models,
    /// users, keys); `server:` changes need a restart and are reported as such.
    private func reload(_ gateway: Gateway, current: GatewayConfig) {
        let result = ConfigLoader.load(path: config, environment: ProcessEnvironment.current())
        for diagnostic in result.diagnostics { Console.error(diagnostic.description) }
        guard let fresh = result.config else {
            Console.error("tollgate: reload: \(config) has errors; keeping the running config")
            return
        }
        if fresh.server != current.server {
            Console.error("tollgate: reload: changes under server: take effect after a restart")
        }
        let plan = GatewayPlan(config: fresh)
        for (name, reason) in plan.unavailableBackends {
            Console.error("tollgate: warning: backend '\(name)': \(reason); models fail over past it")
        }
        gateway.reload(plan)
        Console.error("tollgate: reloaded \(config): \(fresh.backends.count) backends, \(fresh.models.count) models, \(fresh.users.count) users")
    }
}
