// SPDX-License-Identifier: Apache-2.0
// `tollgate serve`: load the config, start the loops, then wait on a signalfd in the main
// thread: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the config (a config with errors is
// reported and the running one kept).
import ArgumentParser
import CLinux
import Glibc
import TollgateConfig
import TollgateGateway
import TollgateHTTP
import TollgateIO
import TollgateUpstream

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
        // Block the signals before any thread exists so every thread inherits the mask and
        // they arrive only through the signalfd below.
        var signals = sigset_t()
        _ = tg_block_signals(&signals)
        // Made before the first connection is accepted: once clients may use up every
        // descriptor, a signalfd created later could fail (EMFILE), and the loop below would
        // take that for a stop signal.
        let signalFD = tg_signalfd(&signals)
        guard signalFD >= 0 else {
            Console.error("tollgate: cannot create the signal descriptor: \(String(cString: strerror(tg_errno())))")
            throw ExitCode(1)
        }
        let options = HTTPServerOptions(server: loaded.server, defaultWorkers: EventLoopGroup.coreCount)
        let plan = GatewayPlan(config: loaded)
        for (name, reason) in plan.unavailableBackends {
            Console.error("tollgate: warning: backend '\(name)': \(reason); models fail over past it")
        }
        let gateway: Gateway
        do {
            gateway = try Gateway(options: options, plan: plan, maxBuffered: loaded.server.maxBuffered,
                                  curlShare: CurlShare(dnsCacheTimeoutSeconds: upstreamDnsCacheSeconds.map { max($0, 0) }))
            let address = try gateway.start()
            Console.error("tollgate: listening on \(address)")
        } catch let error as IOError where error.errno == EADDRINUSE {
            Console.error("tollgate: cannot listen on \(options.host):\(options.port): address in use (another process serves it)")
            throw ExitCode(1)
        } catch {
            Console.error("tollgate: cannot listen on \(options.host):\(options.port): \(error)")
            throw ExitCode(1)
        }
        for line in DemoKeys.announcements(loaded) { Console.error(line) }
        waitLoop: while true {
            guard let signal = Self.nextSignal(signalFD) else {
                Console.error("tollgate: reading the signal descriptor failed (\(String(cString: strerror(tg_errno())))); stopping")
                break
            }
            switch signal {
            case SIGHUP:
                reload(gateway, current: loaded)
            default:
                break waitLoop
            }
        }
        Console.error("tollgate: draining (up to \(loaded.server.drainTimeout); a second SIGTERM or SIGINT stops at once)")
        var interrupted = false
        let clean = gateway.shutdown(drainTimeout: options.drainTimeout, interrupt: (signalFD, {
            // SIGHUP while draining: nothing to reload into; only a second stop signal counts.
            let signal = Self.nextSignal(signalFD)
            interrupted = signal == SIGTERM || signal == SIGINT
            return interrupted
        }))
        if clean {
            Console.error("tollgate: stopped")
        } else if interrupted {
            Console.error("tollgate: stopped at a second signal; connections still open were closed")
        } else {
            Console.error("tollgate: stopped; connections still open at the drain deadline were closed")
        }
    }

    /// The next signal from the signalfd (blocking, EINTR retried); nil if it cannot be read.
    private static func nextSignal(_ fd: Int32) -> Int32? {
        var info = signalfd_siginfo()
        while true {
            let n = read(fd, &info, MemoryLayout<signalfd_siginfo>.size)
            if n == MemoryLayout<signalfd_siginfo>.size { return Int32(info.ssi_signo) }
            if n < 0 && tg_errno() == EINTR { continue }
            return nil
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
