// swift-tools-version:6.0
// Tollgate — a self-hosted inference gateway. See README.md for the layout and why each
// dependency is here.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Tollgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tollgate", targets: ["tollgate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // C at the edges: Glibc does not export epoll/eventfd/timerfd/signalfd.
        .target(name: "CLinux"),

        .target(name: "TollgateIO", dependencies: ["CLinux"], swiftSettings: swiftSettings),
        .target(name: "TollgateHTTP", dependencies: ["TollgateIO"], swiftSettings: swiftSettings),
        .target(name: "TollgateConfig", dependencies: [.product(name: "Yams", package: "Yams")],
                swiftSettings: swiftSettings),
        .target(name: "TollgateGateway",
                dependencies: ["TollgateIO", "TollgateHTTP", "TollgateConfig", "CLinux"],
                swiftSettings: swiftSettings),
        .executableTarget(name: "tollgate",
                          dependencies: ["TollgateGateway", "TollgateConfig", "TollgateIO", "CLinux",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: swiftSettings),

        .testTarget(name: "TollgateIOTests", dependencies: ["TollgateIO"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateHTTPTests", dependencies: ["TollgateHTTP", "TollgateIO"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateConfigTests", dependencies: ["TollgateConfig"], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateGatewayTests",
                    dependencies: ["TollgateGateway", "TollgateHTTP", "TollgateIO", "TollgateConfig", "CLinux"],
                    swiftSettings: swiftSettings),
    ]
)
