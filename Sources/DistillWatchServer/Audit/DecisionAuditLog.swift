import DistillWatchStore
import Logging
import ServiceLifecycle
import Synchronization

/// The decision audit log's writer. Decide calls queue entries without waiting on the
/// database; this service writes what is queued every 50 ms in one transaction. The queue
/// is bounded: when the store falls behind, entries are dropped and counted rather than
/// slowing decisions (the count is in `/metrics`).
final class DecisionAuditLog: Service, Sendable {
    private struct State {
        var queue: [DecisionAuditEntry] = []
        var inFlight = 0
        var written = 0
        var dropped = 0
    }

    private let store: any EventStore
    private let mode: ServerConfiguration.DecisionAudit
    private let capacity: Int
    private let state = Mutex(State())
    private let logger: Logger
    static let interval = Duration.milliseconds(50)

    /// Where written entries are copied, if anywhere (``ClickHouseAuditSink``).
    let clickhouse: ClickHouseAuditSink?

    init(store: any EventStore, mode: ServerConfiguration.DecisionAudit, capacity: Int, logger: Logger,
         clickhouse: ClickHouseAuditSink? = nil) {
        self.clickhouse = clickhouse
        self.store = store
        self.mode = mode
        self.capacity = capacity
        self.logger = logger
    }

    var written: Int { state.withLock { $0.written } }
    var dropped: Int { state.withLock { $0.dropped } }

    /// Queues an entry if the audit mode wants it. Never waits.
    /// - Complexity: O(1) amortised.
    /// - Parameter always: keep the entry under `flagged` too (a call that could not be
    ///   judged, which an operator must be able to find); `none` still keeps nothing.
    func record(_ entry: DecisionAuditEntry, always: Bool = false) {
        switch mode {
        case .none: return
        case .flagged where !entry.verdict.isFlagged && !always: return
        default: break
        }
        state.withLock { s in
            if s.queue.count >= capacity { s.dropped += 1 } else { s.queue.append(entry) }
        }
    }

    /// Writes queued entries until shutdown, then writes what is left.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.interval)
                await self.drain()
            }
        }
        await drain()
    }

    /// Writes everything queued now. Drains run one at a time, so when this returns,
    /// everything queued before the call is written (or counted as dropped), including
    /// entries a concurrent periodic drain had already taken.
    func drain() async {
        _ = try? await gate.run { await self.drainNow() }
    }

    private let gate = SerialGate()

    private func drainNow() async {
        let batch = state.withLock { s in
            let q = s.queue
            s.queue = []
            s.inFlight += q.count
            return q
        }
        guard !batch.isEmpty else { return }
        do {
            // In a task of its own: the write must not inherit the shutdown's cancellation
            // (GRDB refuses to start a write in a cancelled task).
            let store = self.store
            try await Task { try await store.recordDecisions(batch) }.value
            state.withLock { $0.written += batch.count; $0.inFlight -= batch.count }
            clickhouse?.enqueue(batch)
        } catch {
            state.withLock { $0.dropped += batch.count; $0.inFlight -= batch.count }
            logger.error("decision audit: \(batch.count) entries not written: \(error)")
        }
    }
}

/// Closes the store when the server shuts down (after the HTTP server and the audit log,
/// which stop first because they were added later).
struct StoreService: Service {
    let store: any EventStore
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        do { try await store.close() } catch { logger.error("closing the store: \(error)") }
    }
}
