// swift-tools-version: 6.0
// Benchmarks live in their own package so that the main package's build and tests never
// pay for them. Run from this folder: swift run -c release distillwatch-bench --help
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which differs between checkouts.
let mainPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "DistillWatchBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .executableTarget(
            name: "distillwatch-bench",
            dependencies: [
                .product(name: "DistillWatchCore", package: mainPackage),
                .product(name: "DistillWatchIngest", package: mainPackage),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        )
    ]
)
