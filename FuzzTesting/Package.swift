// swift-tools-version:6.0
// Fuzz targets for Tollgate, kept out of the main package so that a normal `swift build` of the
// product never compiles them (libFuzzer's entry points would collide with `main`). Build and run
// with ./run.sh; see README.md.
//
// The main package exposes only the `tollgate` executable product, so the library modules the
// fuzzers need are symlinks to the real source folders (Sources/TollgateHTTP -> ../../Sources/
// TollgateHTTP, and the same for TollgateIO and CLinux, which TollgateHTTP imports, and TollgateLimits), declared
// here as targets with the same settings as in ../Package.swift. No source is copied.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "TollgateFuzzTesting",
    platforms: [.macOS(.v15)],
    targets: [
        .target(name: "CLinux"),
        .target(name: "TollgateCore", swiftSettings: swiftSettings),
        .target(name: "TollgateIO", dependencies: ["TollgateCore", "CLinux"], swiftSettings: swiftSettings),
        .target(name: "TollgateHTTP", dependencies: ["TollgateIO", "TollgateCore"], swiftSettings: swiftSettings),
        .target(name: "TollgateLimits", dependencies: ["TollgateCore"], swiftSettings: swiftSettings),
        // Hands control to libFuzzer; shared by every target below.
        .target(name: "FuzzSupport", swiftSettings: swiftSettings),

        // Only links when built with `-Xswiftc -sanitize=fuzzer,... -Xswiftc -parse-as-library`.
        .executableTarget(name: "FuzzHTTPParser", dependencies: ["TollgateHTTP", "FuzzSupport"], swiftSettings: swiftSettings),
        // The whole server (parser, connection, loop) driven through a socketpair.
        .executableTarget(name: "FuzzConnection", dependencies: ["TollgateHTTP", "TollgateIO", "CLinux", "FuzzSupport"], swiftSettings: swiftSettings),
        // The scanner and locator come from TollgateCore (a leaf); the unit tests'
        // JSONScannerOracle.swift is a symlinked file in its folder.
        .executableTarget(name: "FuzzJSONScanner", dependencies: ["TollgateCore", "FuzzSupport"], swiftSettings: swiftSettings),
        // The multipart/form-data parser; MultipartTranscript.swift is the unit tests' file, symlinked.
        .executableTarget(name: "FuzzMultipart", dependencies: ["TollgateCore", "FuzzSupport"], swiftSettings: swiftSettings),
        // JSONValue: parse → serialize → parse is stable; the depth limit only adds `.tooDeep`.
        .executableTarget(name: "FuzzJSON", dependencies: ["TollgateCore", "FuzzSupport"], swiftSettings: swiftSettings),
        // ZoneRules (TZif files and POSIX TZ strings) and QuotaCalendar over the rules it parses.
        .executableTarget(name: "FuzzZoneRules", dependencies: ["TollgateLimits", "TollgateCore", "FuzzSupport"], swiftSettings: swiftSettings),
    ],
    swiftLanguageModes: [.v6]
)
