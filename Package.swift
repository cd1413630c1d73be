// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "DistillWatch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "distillwatch", targets: ["distillwatch"]),
        .library(name: "DistillWatchCore", targets: ["DistillWatchCore"]),
        .library(name: "DistillWatchIngest", targets: ["DistillWatchIngest"]),
        .library(name: "DistillWatchStore", targets: ["DistillWatchStore"]),
        .library(name: "DistillWatchServer", targets: ["DistillWatchServer"]),
        .library(name: "DistillWatchSharing", targets: ["DistillWatchSharing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // The live decision server (`distillwatch serve`).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // OTLP/HTTP traces (protobuf and JSON): the messages generated from opentelemetry-proto.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // SHA-256 of client API keys seen by the Envoy ext_authz check (no key is stored).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // TAXII 2.1 client (share pull/push, serve's feeds).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // The analyst console's and HTML reports' templates (the Hummingbird project's Mustache).
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // Pure detection core: records, signals, policy, engine, report model. No I/O.
        .target(
            name: "DistillWatchCore",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "RealModule", package: "swift-numerics"),
                "CMemoryHints",
            ]
        ),
        // Cache-line prefetch hints (`__builtin_prefetch`) for the core's look-ahead: the
        // reorder buffer's next record. Hints only: results never depend on them.
        .target(name: "CMemoryHints"),
        // The system zlib, for reading and writing gzip-compressed JSON Lines.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The OTLP trace messages (opentelemetry-proto v1.11.0), generated once by
        // scripts/generate-otlp-protos.sh and committed: no protoc or plugin at build time.
        .target(
            name: "OpenTelemetryProto",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        // Bytes to records: JSON Lines decoding, gzip, files and stdin, policy files, and the
        // gateways' own formats (LiteLLM, OTLP, OpenAI Batch, Helicone, Langfuse).
        .target(
            name: "DistillWatchIngest",
            dependencies: [
                "DistillWatchCore", "CZlib", "OpenTelemetryProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Scenario simulator (legitimate personas and attack campaigns) and evaluation harness.
        .target(
            name: "DistillWatchSimulator",
            dependencies: ["DistillWatchCore", "DistillWatchIngest", "DistillWatchSharing"]
        ),
        // Persistence behind a protocol: the event log, labels and the decision audit log.
        // SQLite through GRDB (WAL) by default; an in-memory implementation for tests.
        .target(
            name: "DistillWatchStore",
            dependencies: [
                "DistillWatchCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                "OpenTelemetryProto", "CZlib",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The live decision server: Hummingbird application, routes, auth, metrics.
        .target(
            name: "DistillWatchServer",
            dependencies: [
                "DistillWatchCore", "DistillWatchIngest", "DistillWatchStore", "DistillWatchSharing", "DistillWatchTAXII", "DistillWatchConsole", "OpenTelemetryProto",
                "DistillWatchClickHouse",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Indicator sharing: STIX 2.1 bundles and MISP events out, STIX bundles in (keyed
        // fingerprints, TLP 2.0 markings, deterministic ids).
        .target(
            name: "DistillWatchSharing",
            dependencies: [
                "DistillWatchCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The analyst console's pages, the self-contained HTML report and the high-volume
        // screening report: view models, Mustache templates, server-drawn SVG charts. Pure.
        .target(
            name: "DistillWatchConsole",
            dependencies: [
                "DistillWatchCore",
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // TAXII 2.1 client over async-http-client: pulling partners' collections, pushing to them.
        .target(
            name: "DistillWatchTAXII",
            dependencies: [
                "DistillWatchCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // ClickHouse as a traffic source and a result store, over its HTTP interface
        // (async-http-client): table mappings, the shard filter, DistillWatch's tables.
        .target(
            name: "DistillWatchClickHouse",
            dependencies: [
                "DistillWatchCore", "DistillWatchIngest",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "distillwatch",
            dependencies: [
                "DistillWatchCore", "DistillWatchIngest", "DistillWatchSimulator", "DistillWatchServer", "DistillWatchSharing", "DistillWatchTAXII",
                "DistillWatchConsole", "DistillWatchStore", "DistillWatchClickHouse",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // What several test targets share: the lane for tests that compute for seconds.
        .target(
            name: "DistillWatchTestSupport",
            dependencies: [.product(name: "DequeModule", package: "swift-collections")],
            path: "Tests/DistillWatchTestSupport"
        ),
        .testTarget(name: "DistillWatchCoreTests", dependencies: ["DistillWatchCore", "DistillWatchTestSupport"]),
        .testTarget(name: "DistillWatchClickHouseTests", dependencies: ["DistillWatchClickHouse", "DistillWatchIngest", "DistillWatchCore"]),
        .testTarget(name: "DistillWatchIngestTests", dependencies: ["DistillWatchTestSupport", "DistillWatchIngest", "DistillWatchCore"]),
        // Runs the built `distillwatch` executable as a user would (pipes, exit codes, files).
        .testTarget(name: "distillwatchTests", dependencies: ["DistillWatchTestSupport", "distillwatch", "DistillWatchIngest", "DistillWatchCore"]),
        .testTarget(name: "DistillWatchSharingTests", dependencies: ["DistillWatchSharing", "DistillWatchTAXII", "DistillWatchCore"]),
        .testTarget(name: "DistillWatchConsoleTests", dependencies: ["DistillWatchConsole", "DistillWatchCore"]),
        .testTarget(name: "DistillWatchStoreTests", dependencies: ["DistillWatchStore", "DistillWatchCore"]),
        .testTarget(
            name: "DistillWatchServerTests",
            dependencies: [
                // The process tests run the built `distillwatch serve` and `scan`.
                "distillwatch", "DistillWatchServer", "DistillWatchStore", "DistillWatchIngest", "DistillWatchCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                "OpenTelemetryProto", "CZlib",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "DistillWatchSimulatorTests",
            dependencies: ["DistillWatchSimulator", "DistillWatchIngest", "DistillWatchCore", "DistillWatchTestSupport"]
        ),
    ]
)
