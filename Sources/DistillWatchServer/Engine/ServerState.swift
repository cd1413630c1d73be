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
}
