// SPDX-License-Identifier: Apache-2.0
// What the command line needs to run a gateway from a loaded config, so the executable talks
// to this module and the config only (not to the HTTP, IO or upstream layers underneath).
import Glibc
public import TollgateConfig
import TollgateHTTP
import TollgateIO
import TollgateUpstream
import TollgateMetering

public enum GatewayLaunchError: Error, CustomStringConvertible {
    /// Another process serves the address (EADDRINUSE).
    case addressInUse(host: String, port: Int)
    case cannotListen(host: String, port: Int, reason: String)
    /// `storage.sqlite` cannot be opened, created or migrated.
    case usageLog(path: String, reason: String)

    public var description: String {
        switch self {
        case .addressInUse(let host, let port):
            return "cannot listen on \(host):\(port): address in use (another process serves it)"
        case .cannotListen(let host, let port, let reason):
            return "cannot listen on \(host):\(port): \(reason)"
        case .usageLog(let path, let reason):
            return "cannot open the usage database \(path): \(reason)"
        }
    }
}

extension Gateway {
    /// Builds the loops and server for `config` (its `server:` section; one worker per core
    /// unless set), binds and starts serving.
    /// - Parameters:
    ///   - upstreamDnsCacheSeconds: libcurl's CURLOPT_DNS_CACHE_TIMEOUT (nil: its 60 s).
    ///   - warn: told what start-up could not do but went on without (e.g. metrics not seeded).
    ///   - metering: false runs without the usage log and the usage counters of /metrics: the
    ///     baseline `make bench` measures metering against, never a production setting.
    /// - Returns: the gateway and the address it listens on (the real port when 0 was asked).
    public static func launch(config: GatewayConfig, plan: GatewayPlan,
                              upstreamDnsCacheSeconds: Int? = nil,
                              warn: (String) -> Void = { _ in }, metering: Bool = true) throws(GatewayLaunchError) -> (Gateway, String) {
        let options = HTTPServerOptions(server: config.server, defaultWorkers: EventLoopGroup.coreCount)
        // SPEC §6: the counters that sum the usage log start from it, read on a connection of
        // their own before the writer opens it and before anything listens.
        let (seed, problem) = metering ? MetricsSeed.load(path: config.storage.sqlite, nowMs: wallClockMs()) : (.empty, nil)
        if let problem { warn("/metrics counters start from zero: \(problem)") }
        // Opened before listening: a gateway that cannot meter does not start (SPEC §4).
        var usage: UsageWriter?
        if metering {
            var usageOptions = UsageWriterOptions()
            usageOptions.retentionDays = config.storage.retentionDays
            do {
                usage = try UsageWriter(path: config.storage.sqlite, options: usageOptions)
            } catch {
                throw .usageLog(path: config.storage.sqlite, reason: error.message)
            }
        }
        let gateway: Gateway
        do {
            gateway = try Gateway(options: options, plan: plan, maxBuffered: config.server.maxBuffered,
                                  curlShare: CurlShare(dnsCacheTimeoutSeconds: upstreamDnsCacheSeconds.map { max($0, 0) }),
                                  usage: usage, metricsSeed: seed, usageReader: UsageReader(path: config.storage.sqlite),
                                  metering: metering)
        } catch where error.errno == EADDRINUSE {
            throw .addressInUse(host: options.host, port: Int(options.port))
        } catch {
            throw .cannotListen(host: options.host, port: Int(options.port), reason: "\(error)")
        }
        // The quota ledgers start from what the log says was spent, before anything listens
        // (SPEC §4): a log that cannot be read would refresh every quota, so it stops start-up.
        if metering {
            do {
                try gateway.rebuildQuotas(usageLog: config.storage.sqlite)
            } catch {
                throw .usageLog(path: config.storage.sqlite, reason: "cannot rebuild the quota ledgers: \(error.message)")
            }
            // The router's expected runs start from what the backends took lately (SPEC §4);
            // a log that cannot be read for this only leaves the configured priors.
            do {
                gateway.seedExpectedRuns(try RunTimeSeed.load(path: config.storage.sqlite, nowUnix: Double(Gateway.wallClockMs()) / 1e3))
            } catch {
                warn("cannot seed the expected run times from \(config.storage.sqlite): \(error.message); using expected_run")
            }
        }
        do {
            let address = try gateway.start()
            return (gateway, address.description)
        } catch where error.errno == EADDRINUSE {
            throw .addressInUse(host: options.host, port: Int(options.port))
        } catch {
            throw .cannotListen(host: options.host, port: Int(options.port), reason: "\(error)")
        }
    }

    /// Graceful stop on the configured drain timeout (`server.drain_timeout`); a second stop
    /// signal from `signals` ends it at once.
    /// - Returns: true when every request finished in time.
    public func shutdown(signals: ProcessSignals?) -> Bool {
        shutdown(drainTimeout: options.drainTimeout, interrupt: signals?.interrupt)
    }

    /// Once serving has begun: what only start-up used (the config loader, migrations,
    /// seeding, the constructors of libraries libcurl links but Tollgate never calls) leaves
    /// the resident set, and the heap returns what start-up freed (StartupMemory).
    public static func releaseStartupMemory() {
        StartupMemory.release()
    }

    /// The libcurl this binary runs with (`tollgate version`).
    public static var curlVersion: String { Curl.version }

    /// The SQLite library the usage log runs on (`tollgate version`).
    public static var sqliteVersion: String { SQLiteConnection.libraryVersion }
}
