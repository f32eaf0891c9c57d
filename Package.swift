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
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // C at the edges: Glibc does not export epoll/eventfd/signalfd.
        .target(name: "CLinux"),
        // libcurl's setopt calls are variadic; shim.h wraps them one per argument type.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // The config loader composes its node tree from libyaml's events (lines kept, no Foundation).
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),

        .target(name: "TollgateIO", dependencies: ["CLinux"], swiftSettings: swiftSettings),
        .target(name: "TollgateHTTP", dependencies: ["TollgateIO", "CLinux"], swiftSettings: swiftSettings),
        .target(name: "TollgateConfig", dependencies: ["CYAML"], swiftSettings: swiftSettings),
        .target(name: "TollgateUpstream", dependencies: ["TollgateIO", "CCurl", "CLinux"], swiftSettings: swiftSettings),
        .target(name: "TollgateBackends", dependencies: ["TollgateIO", "TollgateHTTP", "TollgateUpstream", "CLinux"],
                swiftSettings: swiftSettings),
        .target(name: "TollgateGateway",
                dependencies: ["TollgateIO", "TollgateHTTP", "TollgateConfig", "TollgateUpstream", "TollgateBackends", "CLinux"],
                swiftSettings: swiftSettings),
        .executableTarget(name: "tollgate",
                          dependencies: ["TollgateGateway", "TollgateConfig", "TollgateHTTP", "TollgateIO", "TollgateUpstream", "CLinux",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: swiftSettings),

        .testTarget(name: "TollgateIOTests", dependencies: ["TollgateIO"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateHTTPTests", dependencies: ["TollgateHTTP", "TollgateIO", "CLinux"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "TollgateConfigTests", dependencies: ["TollgateConfig"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateBackendsTests", dependencies: ["TollgateBackends"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateGatewayTests",
                    dependencies: ["TollgateGateway", "TollgateBackends", "TollgateConfig"],
                    swiftSettings: swiftSettings),
    ]
)
