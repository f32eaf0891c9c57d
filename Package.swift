// swift-tools-version:6.0
// Tollgate — a self-hosted inference gateway. See README.md for the layout and why each
// dependency is here.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    // Release builds drop the run-time exclusivity checks (swift_beginAccess was ~2 % of the
    // proxy's CPU in perf); debug builds, which every test runs, keep them and catch violations.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Tollgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tollgate", targets: ["tollgate"]),
    ],
    targets: [
        // C at the edges: Glibc does not export epoll/eventfd/signalfd.
        .target(name: "CLinux"),
        // libcurl's setopt calls are variadic; shim.h wraps them one per argument type.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // The config loader composes its node tree from libyaml's events (lines kept, no Foundation).
        // The usage log: SQLite's C API, one connection per thread.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),

        // The leaf: bytes, JSON and SSE scanning, hashes, ids, money and time units. No I/O.
        .target(name: "TollgateCore", swiftSettings: swiftSettings),
        .target(name: "TollgateIO", dependencies: ["TollgateCore", "CLinux"], swiftSettings: swiftSettings),
        .target(name: "TollgateHTTP", dependencies: ["TollgateIO", "TollgateCore", "CLinux"], swiftSettings: swiftSettings),
        .target(name: "TollgateConfig", dependencies: ["TollgateLimits", "TollgateCore", "CYAML"],
                swiftSettings: swiftSettings),
        .target(name: "TollgateUpstream", dependencies: ["TollgateIO", "TollgateCore", "CCurl", "CLinux"], swiftSettings: swiftSettings),
        .target(name: "TollgateBackends", dependencies: ["TollgateUpstream", "TollgateIO", "TollgateCore"],
                swiftSettings: swiftSettings),
        // What each request cost and how it went: usage records, their sinks, the access log.
        .target(name: "TollgateMetering", dependencies: ["TollgateIO", "TollgateCore", "CSQLite", "CLinux"], swiftSettings: swiftSettings),
        // Pure decisions on an injected clock, no I/O: which backend next, and whether a
        // caller may (who, which model, how much).
        .target(name: "TollgateRouting", dependencies: ["TollgateCore"], swiftSettings: swiftSettings),
        .target(name: "TollgateLimits", dependencies: ["TollgateCore"], swiftSettings: swiftSettings),
        .target(name: "TollgateGateway",
                dependencies: ["TollgateIO", "TollgateHTTP", "TollgateConfig", "TollgateUpstream", "TollgateBackends",
                               "TollgateMetering", "TollgateRouting", "TollgateLimits", "TollgateCore", "CLinux"],
                swiftSettings: swiftSettings),
        // The command line as a table per subcommand, parsed by hand: no dependencies (the
        // argument parser package brought FoundationEssentials, ~2 MiB of idle RSS).
        .target(name: "TollgateCLI", dependencies: ["TollgateCore"], swiftSettings: swiftSettings),
        .executableTarget(name: "tollgate",
                          dependencies: ["TollgateGateway", "TollgateConfig", "TollgateCLI", "TollgateMetering", "TollgateCore"],
                          swiftSettings: swiftSettings),
        // `make bench`: the usage writer on its own (rows/s, bytes per row).
        .executableTarget(name: "writer_bench", dependencies: ["TollgateMetering", "TollgateCore"],
                          path: "Benchmarks/writer_bench", swiftSettings: swiftSettings),
        // `make bench`: one routing decision over 20 candidates (ns per decision, goal < 2 µs):
        // Router.pick alone, and with the gateway's per-request work (TollgateGateway.RoutingBenchmark).
        .executableTarget(name: "tollgate-routing-bench", dependencies: ["TollgateRouting", "TollgateGateway", "TollgateCore"],
                          path: "Benchmarks/RoutingBench", swiftSettings: swiftSettings),

        // What every test suite shares: the raw client, the test server and responder, the
        // parser harness, replayable seeds, feeding bytes in pieces, polling with a deadline.
        .target(name: "TollgateTestSupport", dependencies: ["TollgateHTTP", "TollgateIO", "TollgateCore", "CLinux"],
                path: "Tests/TollgateTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "TollgateCLITests", dependencies: ["TollgateCLI", "TollgateCore"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateCoreTests", dependencies: ["TollgateCore", "TollgateTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateMeteringTests", dependencies: ["TollgateMetering", "TollgateIO", "TollgateCore", "TollgateTestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "TollgateRoutingTests", dependencies: ["TollgateRouting"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateLimitsTests", dependencies: ["TollgateLimits", "TollgateCore"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateIOTests", dependencies: ["TollgateIO"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateHTTPTests", dependencies: ["TollgateHTTP", "TollgateIO", "TollgateTestSupport", "CLinux"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "TollgateConfigTests", dependencies: ["TollgateConfig"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateUpstreamTests", dependencies: ["TollgateUpstream", "TollgateIO", "TollgateTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateBackendsTests", dependencies: ["TollgateBackends", "TollgateTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateGatewayTests",
                    dependencies: ["TollgateGateway", "TollgateBackends", "TollgateConfig", "TollgateTestSupport"],
                    swiftSettings: swiftSettings),
    ]
)
