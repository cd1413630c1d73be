import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Logging

/// What the routes share: the engine, the path that changes it, metrics, the audit log,
/// the clock and the configuration.
struct ServerState: Sendable {
    let configuration: ServerConfiguration
    let engine: LiveEngine
    let ingestor: Ingestor
    let store: any EventStore
    let metrics: ServerMetrics
    let audit: DecisionAuditLog
    let clock: WallClock
    let decoder: EventDecoder
    let logger: Logger
    /// Whether the log takes writes.
    let health: StorageHealth
    /// The snapshotter (`nil` with `:memory:` or snapshots off).
    let snapshots: SnapshotService?
    /// How the engine was rebuilt at start-up.
    let restart: RestartReport
    /// Done once every answer is on the decision board (``LiveEngine/publishEverything(chunk:)``).
    let boardReady: Task<Void, Never>
    /// TAXII collections, imports and publication.
    let sharing: SharingService
    /// Hourly history, sightings, notes and screening sign-offs (the console's store).
    let history: any HistoryStore
    /// Console sessions and page rendering.
    let console: ConsoleService
    /// Directives, their refusals and rate limits, and reasoning summaries.
    let countermeasures: CountermeasureService
    /// With `shard:` configured, routes other shards' accounts to their nodes.
    var shards: ShardRouter? = nil
    /// Forwarded batch parts already written, by idempotency key (live shards).
    var forwardedBatches = ForwardedBatches()

    /// The key answers are sketched under for provenance, when `provenance_index` is on.
    var provenanceKey: ContentKey? {
        configuration.provenanceIndex ? configuration.sketcher?.key : nil
    }
}

/// How the server rebuilt its engine at start-up (`GET /v1/status`, `restart`).
struct RestartReport: Sendable, Encodable, Equatable {
    /// The snapshot file loaded, if any, and the log sequence it reached.
    var snapshot: String?
    var snapshotSequence: Int64?
    var snapshotLoadSeconds: Double?
    /// Events replayed after it (the whole log without a snapshot).
    var replayedEvents = 0
    /// Time from opening the store to the engine ready, in seconds.
    var seconds = 0.0
    /// Snapshots passed over, and why.
    var warnings: [String] = []
    /// The log before this sequence was compacted and no snapshot covered it (0: none missing).
    var historyMissingThrough: Int64 = 0

    enum CodingKeys: String, CodingKey {
        case snapshot
        case snapshotSequence = "snapshot_sequence"
        case snapshotLoadSeconds = "snapshot_load_seconds"
        case replayedEvents = "replayed_events"
        case seconds, warnings
        case historyMissingThrough = "history_missing_through"
    }
}
