import DistillWatchCore
import DistillWatchStore
import Logging
import ServiceLifecycle
import Synchronization

/// Takes engine snapshots in the background and applies the log retention.
///
/// Every second it looks at how far the engine got; once ``ServerConfiguration/snapshotEveryEvents``
/// events were applied since the last snapshot, or ``ServerConfiguration/snapshotIntervalSeconds``
/// passed with new events, it captures the engine between two batches (O(1): a
/// copy-on-write copy), then serialises and writes the copy on its own task while ingest
/// and `decide` go on, keeps the newest ``ServerConfiguration/snapshotsKept`` files, and,
/// with `log_retention: compact`, deletes the exchange and account events that the
/// oldest kept snapshot covers. A clean shutdown takes a last snapshot, so the next start
/// replays nothing. A failed write is logged and counted; the log still holds everything,
/// so nothing is lost, and the next attempt comes at the next trigger.
final class SnapshotService: Service, Sendable {
    struct Status: Sendable, Equatable {
        var lastSequence: Int64 = 0
        var appliedEvents = 0
        var takenAt: Timestamp?
        var bytes = 0
        var seconds = 0.0
        var written = 0
        var failed = 0
        var lastError: String?
        var compactedEvents = 0
    }

    let directory: SnapshotDirectory
    let ingestor: Ingestor
    let configuration: ServerConfiguration
    let digest: [UInt8]
    /// The log's id, written into every snapshot (``SnapshotHeader/logID``).
    let logID: Int64
    let clock: WallClock
    let metrics: ServerMetrics
    let logger: Logger
    private let state: Mutex<Status>
    private let running = Mutex(false)
    private let startedAt = ContinuousClock.now

    init(directory: SnapshotDirectory, ingestor: Ingestor, configuration: ServerConfiguration, logID: Int64, clock: WallClock,
         metrics: ServerMetrics, logger: Logger, loaded: EngineSnapshot.Restored?) {
        self.logID = logID
        self.directory = directory
        self.ingestor = ingestor
        self.configuration = configuration
        digest = EngineSnapshot.configurationDigest(configuration)
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        var status = Status()
        if let loaded {
            status.lastSequence = loaded.lastSequence
            status.appliedEvents = loaded.appliedEvents
        }
        state = Mutex(status)
    }

    var status: Status { state.withLock { $0 } }

    /// How long the background trigger waits after a failed snapshot before the next try.
    static let retryDelay = Duration.seconds(30)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastAt = ContinuousClock.now
            var retryAt = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let engine = self.ingestor.engine.status()
                let last = self.status
                let newEvents = engine.lastSequence > last.lastSequence
                let due = engine.appliedEvents - last.appliedEvents >= self.configuration.snapshotEveryEvents
                    || (newEvents && ContinuousClock.now - lastAt >= .seconds(self.configuration.snapshotIntervalSeconds))
                if due, newEvents, ContinuousClock.now >= retryAt {
                    let written = await self.takeSnapshot() != nil
                    lastAt = ContinuousClock.now
                    // After a failure, wait before serialising the whole engine again.
                    retryAt = written ? lastAt : lastAt + Self.retryDelay
                }
            }
        }
        // A clean shutdown: one last snapshot, so the next start replays nothing.
        if ingestor.engine.status().lastSequence > status.lastSequence { await takeSnapshot() }
    }

    /// Captures, writes, prunes and compacts once (one at a time).
    /// - Returns: the file written, or `nil` when it failed or one was already being taken.
    @discardableResult
    func takeSnapshot() async -> SnapshotFile? {
        guard running.withLock({ r in r ? false : { r = true; return true }() }) else { return nil }
        defer { running.withLock { $0 = false } }
        // Not even started (no capture, no serialising) when the last snapshot's size
        // would not fit with the room kept for the log.
        let previousBytes = status.bytes
        if previousBytes > 0, let problem = directory.spaceProblem(forSnapshotBytes: previousBytes) {
            recordFailure(problem)
            return nil
        }
        let engine = ingestor.engine
        let captured = await ingestor.betweenBatches { engine.capture() }
        let started = ContinuousClock.now
        let directory = self.directory, digest = self.digest, logID = self.logID, time = clock.now()
        do {
            // On the ingest lane: serialising a large engine takes a while, and on Swift's
            // cooperative pool it would hold one of the threads that answer decide.
            let file = try await BackgroundLane.ingest.run {
                try EngineSnapshot.write(captured, to: directory, digest: digest, logID: logID, at: time)
            }
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            directory.prune(keeping: configuration.snapshotsKept)
            state.withLock { s in
                s.lastSequence = captured.lastSequence
                s.appliedEvents = captured.appliedEvents
                s.takenAt = time
                s.bytes = file.bytes
                s.seconds = seconds
                s.written += 1
                s.lastError = nil
            }
            metrics.snapshotsWritten.increment()
            metrics.snapshotSequence.record(Double(captured.lastSequence))
            metrics.snapshotBytes.record(Double(file.bytes))
            metrics.snapshotSeconds.record(seconds)
            logger.info("snapshot written", metadata: [
                "sequence": "\(captured.lastSequence)", "bytes": "\(file.bytes)", "seconds": "\(seconds)",
            ])
            if configuration.logRetention == .compact { await compact() }
            return file
        } catch {
            recordFailure("\(error)")
            return nil
        }
    }

    /// Counts a snapshot not written and says why (the log still holds everything).
    private func recordFailure(_ reason: String) {
        state.withLock { s in
            s.failed += 1
            s.lastError = reason
        }
        metrics.snapshotsFailed.increment()
        logger.error("snapshot not written (the log still holds everything; the next trigger tries again): \(reason)")
    }

    /// Deletes the exchange and account events the oldest kept snapshot covers.
    private func compact() async {
        let kept = directory.list().prefix(configuration.snapshotsKept)
        guard kept.count >= configuration.snapshotsKept, let oldest = kept.last else { return }
        do {
            let store = ingestor.store
            let deleted = try await Task { try await store.compact(through: oldest.lastSequence) }.value
            state.withLock { $0.compactedEvents += deleted }
            metrics.compactedEvents.increment(by: deleted)
            if deleted > 0 {
                logger.info("log compacted", metadata: ["through": "\(oldest.lastSequence)", "events": "\(deleted)"])
            }
        } catch {
            logger.error("log not compacted (it will be at the next snapshot): \(error)")
        }
    }
}
