// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "DistillWatch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "distillwatch", targets: ["distillwatch"]),
        .library(name: "DistillWatchCore", targets: ["DistillWatchCore"]),
        .library(name: "DistillWatchIngest", targets: ["DistillWatchIngest"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // Pure detection core: records, signals, policy, engine, report model. No I/O.
        .target(
            name: "DistillWatchCore",
            dependencies: [
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
        // The system zlib, for reading and writing gzip-compressed JSON Lines.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Bytes to records: JSON Lines decoding, gzip, files and stdin, policy files.
        .target(
            name: "DistillWatchIngest",
            dependencies: [
                "DistillWatchCore", "CZlib",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Scenario simulator (legitimate personas and attack campaigns) and evaluation harness.
        .target(
            name: "DistillWatchSimulator",
            dependencies: ["DistillWatchCore", "DistillWatchIngest"]
        ),
        .executableTarget(
            name: "distillwatch",
            dependencies: [
                "DistillWatchCore", "DistillWatchIngest", "DistillWatchSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "DistillWatchCoreTests", dependencies: ["DistillWatchCore"]),
        .testTarget(name: "DistillWatchIngestTests", dependencies: ["DistillWatchIngest", "DistillWatchCore"]),
        // Runs the built `distillwatch` executable as a user would (pipes, exit codes, files).
        .testTarget(name: "distillwatchTests", dependencies: ["distillwatch", "DistillWatchIngest", "DistillWatchCore"]),
        .testTarget(
            name: "DistillWatchSimulatorTests",
            dependencies: ["DistillWatchSimulator", "DistillWatchIngest", "DistillWatchCore"]
        ),
    ]
)
