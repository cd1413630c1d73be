import DistillWatchClickHouse
import DistillWatchCore
import DistillWatchStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// The Hummingbird application `distillwatch serve` runs.
public typealias DistillWatchApplication = Application<RouterResponder<DistillWatchRequestContext>>

/// Builds the server: opens the store (unless one is given), replays its log into a fresh
/// engine, and mounts the routes behind bearer-token authentication.
///
/// ```swift
/// let app = try await buildApplication(configuration)
/// try await app.runService()   // until SIGTERM or SIGINT
/// ```
///
/// - Parameters:
///   - store: the event store; by default the configuration's database (SQLite, or memory
///     for `:memory:`).
///   - clock: wall-clock time for received-at stamps, labels and the audit log.
///   - onServerRunning: called with the bound port once the server listens.
public func buildApplication(
    _ configuration: ServerConfiguration,
    store: (any EventStore)? = nil,
    clock: WallClock = .system,
    logger: Logger? = nil,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> DistillWatchApplication {
    var logger = logger ?? Logger(label: "distillwatch")
    if logger.logLevel > .debug, let level = Logger.Level(rawValue: configuration.logLevel) { logger.logLevel = level }
    let (router, state) = try await assembleServer(configuration, store: store, clock: clock, logger: logger)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "distillwatch"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
    // Shut down in reverse order: the HTTP server first, then the audit writer drains,
    // then the store closes.
    // The ClickHouse copy of the audit stops after the audit's last write (services stop in
    // reverse order).
    if let copy = state.audit.clickhouse { app.addServices(copy) }
    app.addServices(StoreService(store: state.store, logger: logger), state.audit,
                    StorageMonitor(store: state.store, health: state.health, clock: clock, logger: logger))
    if let snapshots = state.snapshots { app.addServices(snapshots) }
    if !configuration.taxiiFeeds.isEmpty { app.addServices(TAXIIFeedService(state: state)) }
    if let shards = state.shards { app.addServices(ShardRouterService(router: shards)) }
    if let shards = state.shards, let feed = shards.settings.campaigns {
        app.addServices(CampaignStepFeedService(feed: feed, shard: shards.shard, verdicts: state.engine.campaignStep,
                                                metrics: shards.metrics, logger: logger,
                                                environment: ProcessInfo.processInfo.environment))
    }
    return app
}

/// Opens the store, replays its log and mounts every route: the server without its socket.
/// The role-matrix test reads the returned router's `routes`, so a route added here is
/// covered by it or makes it fail.
func assembleServer(
    _ configuration: ServerConfiguration, store: (any EventStore)?, clock: WallClock, logger: Logger
) async throws -> (Router<DistillWatchRequestContext>, ServerState) {
    try configuration.validate()
    // Provenance needs the answers' text at decode time (it is sketched, then dropped).
    let decoder = EventDecoder(captureText: configuration.captureText || configuration.provenanceIndex, sketcher: configuration.sketcher)
    let store = try store ?? openStore(configuration, decoder: decoder)
    let metrics = ServerMetrics()
    let health = StorageHealth(metrics: metrics)
    // Can the log be written at all? A database the server may only read (a permission,
    // a read-only mount) will not become writable by itself: refuse to start. A full disk
    // may clear: start degraded (ingest 503, decide from memory) and let the monitor probe.
    do {
        try await store.probeWrite(at: clock.now())
    } catch {
        let reason = "\(error)"
        if reason.localizedCaseInsensitiveContains("readonly") || reason.localizedCaseInsensitiveContains("read-only") {
            throw StoreError("""
                \(configuration.database): the database can only be read (\(reason)). Give the server's user write \
                permission on the file and its folder (or mount it read-write), then start again
                """)
        }
        health.record(reason, at: clock.now())
        logger.error("storage: the log cannot be written at start (\(reason)); ingest and labels answer 503 until it can")
    }

    if configuration.provenanceIndex, let key = configuration.sketcher?.key, let sqlite = store as? SQLiteEventStore {
        try await sqlite.bindProvenanceKey(key)
    }

    // The newest usable snapshot, then the log after it (Documentation/Server.md, "Snapshots").
    let replayStart = ContinuousClock.now
    var restart = RestartReport()
    var directory: SnapshotDirectory?
    var loaded: EngineSnapshot.Restored?
    let logPosition = try await store.logPosition()
    if let path = configuration.resolvedSnapshotDirectory {
        let snapshots = try SnapshotDirectory(path: path)
        directory = snapshots
        let outcome = EngineSnapshot.restore(from: snapshots, configuration: configuration, log: logPosition)
        for warning in outcome.warnings { logger.warning("snapshot passed over: \(warning)") }
        if outcome.historyMissingThrough > 0 {
            logger.error("""
                the log was compacted through sequence \(outcome.historyMissingThrough) and no snapshot covering it could be \
                loaded: the engine starts without that history (restore a snapshot into \(path) and restart to get it back)
                """)
        }
        loaded = outcome.restored
        restart.snapshot = outcome.file?.path
        restart.snapshotSequence = outcome.restored?.lastSequence
        restart.warnings = outcome.warnings
        restart.historyMissingThrough = outcome.historyMissingThrough
        restart.snapshotLoadSeconds = (ContinuousClock.now - replayStart) / .seconds(1)
    }
    let engine = loaded.map { LiveEngine(restoring: $0, maxBuffered: configuration.maxBufferedExchanges) }
        ?? LiveEngine(policy: configuration.policy, toleranceMilliseconds: configuration.reorderToleranceMilliseconds,
                      maxBuffered: configuration.maxBufferedExchanges)
    // A snapshot keeps the shared indicators but not the sharing keys: index them again
    // with this configuration's keys (sign-up domains are matched under them).
    if loaded != nil, !decoder.sharingKeys.isEmpty { engine.reindexSharedIndicators(sharingKeys: decoder.sharingKeys) }
    let ingestor = Ingestor(store: store, engine: engine, health: health, metrics: metrics, maxPending: configuration.maxPendingBatches,
                            historyRetentionDays: configuration.historyRetentionDays, logger: logger)

    let (replayed, quarantined) = try await ingestor.replay(after: loaded?.lastSequence ?? 0, decoder: decoder, at: clock.now())
    restart.replayedEvents = replayed
    restart.seconds = (ContinuousClock.now - replayStart) / .seconds(1)
    // Publish every answer for decide in the background; until done, decide reads the engine.
    let boardReady = Task { await engine.publishEverything() }
    if quarantined > 0 {
        logger.warning("replay quarantined events it could not apply; the server is up without them (GET /v1/quarantine lists them)",
                       metadata: ["quarantined": "\(quarantined)"])
    }
    if replayed > 0 || loaded != nil {
        let status = engine.status()
        logger.info("restored the engine", metadata: [
            "snapshot": "\(restart.snapshot ?? "none")", "replayed_events": "\(replayed)",
            "exchanges": "\(status.acceptedExchanges)", "accounts": "\(status.accounts)",
            "seconds": "\(restart.seconds)",
        ])
    }

    let auditCopy = try configuration.decisionAuditClickHouse.map { url in
        ClickHouseAuditSink(endpoint: try ClickHouseEndpoint(parsing: url, environment: ProcessInfo.processInfo.environment, forbidTable: true),
                            node: configuration.shard?.shard.description ?? "all", capacity: configuration.auditQueueCapacity,
                            metrics: metrics, clock: clock, logger: logger)
    }
    let audit = DecisionAuditLog(store: store, mode: configuration.decisionAudit,
                                 capacity: configuration.auditQueueCapacity, logger: logger, clickhouse: auditCopy)
    let snapshots = directory.map {
        SnapshotService(directory: $0, ingestor: ingestor, configuration: configuration, logID: logPosition.logID, clock: clock,
                        metrics: metrics, logger: logger, loaded: loaded)
    }
    let handle = ServerStateHandle()
    let sharing = SharingService(objects: (store as? any SharedObjectStore) ?? InMemorySharedObjectStore(), state: handle,
                                 producer: configuration.sharingProducer, feeds: configuration.taxiiFeeds.map(\.name))
    var state = ServerState(configuration: configuration, engine: engine, ingestor: ingestor, store: store,
                            metrics: metrics, audit: audit, clock: clock, decoder: decoder, logger: logger,
                            health: health, snapshots: snapshots, restart: restart, boardReady: boardReady, sharing: sharing,
                            history: (store as? any HistoryProviding)?.historyStore ?? InMemoryHistoryStore(),
                            console: try ConsoleService(sessionHours: configuration.consoleSessionHours),
                            countermeasures: CountermeasureService(
                                policy: configuration.policy.countermeasures, modelAccess: configuration.policy.modelAccess,
                                verificationURL: configuration.verificationURL,
                                summarizer: configuration.reasoningSummarizer.map { ReasoningSummarizer(settings: $0) },
                                metrics: CountermeasureMetrics(factory: metrics.factory)))
    if let settings = configuration.shard {
        state.shards = ShardRouter(settings: settings, metrics: ShardMetrics(factory: metrics.factory),
                                   envoyKeyHeader: HTTPField.Name(configuration.envoyKeyHeader) ?? BearerAuthMiddleware.apiKey,
                                   contentKey: configuration.sketcher?.key, clock: clock)
        let role = "live shard \(settings.shard) of nodes \(settings.nodes.joined(separator: ", ")); owner_down: \(settings.ownerDown.rawValue)"
            + (settings.campaigns.map { "; campaign step of run \($0.run) from \(ClickHouseEndpoint.redacted($0.store))" } ?? "")
        logger.info("\(role)")
    }
    handle.set(state)
    await sharing.reconcileAtStart(at: clock.now())

    let router = Router(context: DistillWatchRequestContext.self)
    router.add(middleware: BearerAuthMiddleware(tokens: TokenTable(configuration.tokens),
                                                envoyPrefix: configuration.envoyPathPrefix,
                                                envoyKeyHeader: HTTPField.Name(configuration.envoyKeyHeader) ?? BearerAuthMiddleware.apiKey))
    router.add(middleware: RouteNotFoundMiddleware())
    let operations = OperationsRoutes(state: state)
    operations.addHealth(to: router)
    operations.addMetrics(to: router)
    router.addRoutes(IngestRoutes(state: state).build(), atPath: "/v1")
    router.addRoutes(DecisionRoutes(state: state).build(), atPath: "/v1")
    router.addRoutes(ReasoningRoutes(state: state).build(), atPath: "/v1")
    router.addRoutes(VerificationRoutes(state: state).build(), atPath: "/v1")
    router.addRoutes(AnalystRoutes(state: state).build(), atPath: "/v1")
    router.addRoutes(SharingRoutes(state: state).build(), atPath: "/v1")
    router.addRoutes(TAXIIRoutes(state: state).build(), atPath: "/taxii2")
    router.addRoutes(LiteLLMGuardrailRoutes(state: state).build(), atPath: "/beta")
    router.addRoutes(LiteLLMLogRoutes(state: state).build(), atPath: "/v1/litellm")
    router.addRoutes(OpenTelemetryRoutes(state: state).build(), atPath: "/v1")
    EnvoyExtAuthzRoutes(state: state).build(on: router)
    router.addRoutes(ConsoleRoutes(state: state).build(), atPath: "/console")
    return (router, state)
}

func openStore(_ configuration: ServerConfiguration, decoder: EventDecoder) throws -> any EventStore {
    if configuration.database == ":memory:" { return InMemoryEventStore() }
    return try SQLiteEventStore(path: configuration.database, synchronous: configuration.synchronous,
                                upgrade: { kind, payload in decoder.upgrade(kind, payload) }, appendLane: BackgroundLane.ingest)
}

/// Runs `distillwatch serve` until SIGTERM or SIGINT, then shuts down cleanly: stops
/// accepting connections, lets requests finish, writes the audit queue, closes the store.
/// The reorder buffer is not flushed at shutdown: the log already holds every accepted
/// exchange, and the restarted server replays them into the buffer, so it continues
/// exactly as a server that never stopped would.
/// - Throws: ``StoreError`` for a database it cannot open; `ServerStartError` naming the
///   address when it cannot listen (a port in use, an address not on this machine).
public func runServer(_ configuration: ServerConfiguration) async throws {
    let listening = Mutex(false)
    let app = try await buildApplication(configuration) { port in
        listening.withLock { $0 = true }
        FileHandle.standardOutput.write(Data("distillwatch: listening on http://\(configuration.host):\(port)\n".utf8))
    }
    do {
        try await app.runService()
    } catch where !listening.withLock({ $0 }) {
        throw ServerStartError(description: "cannot listen on \(configuration.host):\(configuration.port): \(error)")
    }
}

/// The server could not start listening; the message names the address.
public struct ServerStartError: Error, CustomStringConvertible {
    public var description: String
}
