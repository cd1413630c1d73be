// swift-tools-version: 6.0
// libFuzzer targets for every decoder and request-body parser of DistillWatch, and for
// the engine behind them. A package of its own so that the sanitizer build (every module
// instrumented) neither rebuilds nor touches the main build. Build and run with
// `Fuzz/run.sh`; see Documentation/Fuzzing.md.
import PackageDescription

let targets = [
    "fuzz-exchange-line", "fuzz-account-line", "fuzz-label-line", "fuzz-traffic",
    "fuzz-engine", "fuzz-request-bodies", "fuzz-policy-file", "fuzz-litellm-logs", "fuzz-gateways",
    "fuzz-stix-bundle",
]

let package = Package(
    name: "DistillWatchFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "DistillWatch", path: ".."),
    ],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(
            name: "FuzzSupport",
            dependencies: [
                "CLibFuzzer",
                .product(name: "DistillWatchCore", package: "DistillWatch"),
                .product(name: "DistillWatchIngest", package: "DistillWatch"),
            ]
        ),
    ] + targets.map { name in
        .executableTarget(
            name: name,
            dependencies: [
                "FuzzSupport",
                .product(name: "DistillWatchCore", package: "DistillWatch"),
                .product(name: "DistillWatchIngest", package: "DistillWatch"),
            ] + (name == "fuzz-stix-bundle" ? [.product(name: "DistillWatchSharing", package: "DistillWatch")] : [])
        )
    }
)
