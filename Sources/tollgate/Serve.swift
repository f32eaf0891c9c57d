// SPDX-License-Identifier: Apache-2.0
// `tollgate serve`: load the config, start the loops, then wait on a signalfd in the main
// thread: SIGTERM/SIGINT drain and exit 0; SIGHUP and POST /admin/reload reload the config (a
// config with errors is reported and the running one kept).
import TollgateConfig
import TollgateGateway

struct Serve {
    let config: String
    /// libcurl's CURLOPT_DNS_CACHE_TIMEOUT; nil keeps its default (see TollgateCommandLine).
    let upstreamDnsCacheSeconds: Int?
    /// false: `--metering off`, the benchmark's baseline (no usage log, no usage counters).
    var metering = true

    /// The process's exit status: 0 after a drain, 2 for a config with errors, 1 otherwise.
    func run() -> Int32 {
        OpenFileLimit.raiseToHardLimit()
        let result = ConfigLoader.load(path: config, environment: ProcessEnvironment.current())
        for diagnostic in result.diagnostics { Console.error(diagnostic.description) }
        guard let loaded = result.config else {
            Console.error("tollgate: \(config) has errors; not starting")
            return 2
        }
        // Signals are blocked before any thread exists, so every thread inherits the mask.
        let signals: ProcessSignals
        switch ProcessSignals.capture() {
        case .success(let captured): signals = captured
        case .failure(let error):
            Console.error("tollgate: cannot create the signal descriptor: \(error.reason)")
            return 1
        }
        let plan = GatewayPlan(config: loaded)
        let gateway: Gateway
        do {
            let (started, address) = try Gateway.launch(config: loaded, plan: plan, upstreamDnsCacheSeconds: upstreamDnsCacheSeconds,
                                                            warn: { Console.error("tollgate: warning: \($0)") },
                                                            metering: metering)
            gateway = started
            if !metering {
                Console.error("tollgate: warning: --metering off: no usage log and no spend counters (a benchmark baseline, not for production)")
            }
            Console.error("tollgate: listening on \(address)")
        } catch {
            Console.error("tollgate: \(error)")
            return 1
        }
        for line in DemoKeys.announcements(loaded) { Console.error(line) }
        Gateway.releaseStartupMemory()
        // The one thread that reloads, for SIGHUP and POST /admin/reload alike (ConfigReloader).
        let reloader = ConfigReloader(path: config, environment: { ProcessEnvironment.current() }, current: loaded,
                                      log: { Console.error($0) })
        waitLoop: while true {
            guard let signal = signals.next(requests: gateway.reloadRequests) else {
                Console.error("tollgate: reading the signal descriptor failed (\(signals.lastErrorText)); stopping")
                break
            }
            switch signal {
            case .reload: reloader.reloadOnSignal(gateway)
            case .reloadRequested: reloader.reloadOnRequest(gateway)
            case .stop: break waitLoop
            }
        }
        // Not ready from before the log says so: a probe that read "draining" never sees 200.
        gateway.beginDraining()
        Console.error("tollgate: draining (up to \(loaded.server.drainTimeout); a second SIGTERM or SIGINT stops at once)")
        let clean = gateway.shutdown(signals: signals)
        if clean {
            Console.error("tollgate: stopped")
        } else if signals.secondStopReceived {
            Console.error("tollgate: stopped at a second signal; connections still open were closed")
        } else {
            Console.error("tollgate: stopped; connections still open at the drain deadline were closed")
        }
        return 0
    }
}
