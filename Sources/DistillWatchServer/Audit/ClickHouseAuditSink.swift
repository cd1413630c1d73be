import DistillWatchClickHouse
import DistillWatchCore
import DistillWatchStore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Copies the decision audit to ClickHouse (`decision_audit_clickhouse: clickhouse://HOST:PORT/DB`),
/// table `dw_decisions` (created by `distillwatch clickhouse init`), so analysts query every
/// node's decisions with SQL beside the scans' verdicts. The SQLite audit stays the node's
/// own record; this is a copy.
///
/// Entries written to the local audit are queued here and inserted every second in one
/// `INSERT … FORMAT JSONEachRow` (ClickHouse wants few large inserts). A failed insert keeps
/// the rows and retries them with the next ones; past `capacity` queued rows the oldest are
/// dropped and counted, so a ClickHouse outage never holds up decisions or grows memory
/// without bound. Counts: `distillwatch_audit_clickhouse_rows_total{result="written|dropped"}`.
///
/// - Complexity: O(rows) per insert; memory at most `capacity` rows (about 300 bytes each).
final class ClickHouseAuditSink: Service, Sendable {
    private struct State {
        var queue: [DecisionAuditEntry] = []
        var written = 0
        var dropped = 0
        var lastError: String?
    }

    let endpoint: ClickHouseEndpoint
    /// The node's name in the rows: its shard (`1/2`), or `all`.
    let node: String
    let capacity: Int
    private let state = Mutex(State())
    private let client: ClickHouseClient
    private let logger: Logger
    private let writtenCounter: MCounter
    private let droppedCounter: MCounter
    static let interval = Duration.seconds(1)

    private let clock: WallClock

    init(endpoint: ClickHouseEndpoint, node: String, capacity: Int, metrics: ServerMetrics, clock: WallClock, logger: Logger,
         connectTimeout: Duration = .seconds(10)) {
        self.endpoint = endpoint
        self.clock = clock
        self.node = node
        self.capacity = max(1, capacity)
        self.logger = logger
        client = ClickHouseClient(endpoint: endpoint, queryTimeout: .seconds(30),
                                  connectTimeout: .nanoseconds(connectTimeout.components.seconds * 1_000_000_000
                                                               + connectTimeout.components.attoseconds / 1_000_000_000))
        writtenCounter = MCounter(label: "distillwatch_audit_clickhouse_rows_total", dimensions: [("result", "written")],
                                  factory: metrics.factory)
        droppedCounter = MCounter(label: "distillwatch_audit_clickhouse_rows_total", dimensions: [("result", "dropped")],
                                  factory: metrics.factory)
    }

    var written: Int { state.withLock { $0.written } }
    var dropped: Int { state.withLock { $0.dropped } }
    var queued: Int { state.withLock { $0.queue.count } }

    /// Queues entries the local audit wrote. Never waits.
    func enqueue(_ entries: [DecisionAuditEntry]) {
        let dropped = state.withLock { s -> Int in
            s.queue.append(contentsOf: entries)
            let over = max(0, s.queue.count - capacity)
            if over > 0 {
                s.queue.removeFirst(over)
                s.dropped += over
            }
            return over
        }
        if dropped > 0 { droppedCounter.increment(by: dropped) }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.interval)
                await self.flush()
            }
        }
        await flush()
        await client.shutdown()
    }

    /// Inserts what is queued; on failure keeps it for the next try.
    func flush() async {
        let batch = state.withLock { s in
            let q = s.queue
            s.queue = []
            return q
        }
        guard !batch.isEmpty else { return }
        do {
            let rows = try Self.rows(batch, node: node, writtenAt: clock.now())
            // Not cancelled by the shutdown that asked for this last flush.
            let client = self.client, table = endpoint.database + ".dw_decisions"
            let insert = Task { () async -> (any Error)? in
                do { try await client.insert(into: table, jsonLines: rows); return nil } catch { return error }
            }
            if let failure = await insert.value { throw failure }
            state.withLock { $0.written += batch.count; $0.lastError = nil }
            writtenCounter.increment(by: batch.count)
        } catch {
            let message = "\(error)"
            let first = state.withLock { s -> Bool in
                defer { s.lastError = message }
                // Put back in front of what arrived meanwhile, within the bound.
                s.queue = batch + s.queue
                return s.lastError != message
            }
            enqueue([])
            if first { logger.error("decision audit to ClickHouse (\(endpoint)): \(batch.count) rows not written yet, will retry: \(message)") }
        }
    }

    /// The rows of `dw_decisions`, one JSON object per line.
    static func rows(_ entries: [DecisionAuditEntry], node: String, writtenAt: Timestamp) throws -> Data {
        var data = Data()
        for e in entries {
            let row: [String: Any] = [
                "written_at": Int(writtenAt.millisecondsSinceEpoch / 1000), "node": node,
                "at": Int(e.at.millisecondsSinceEpoch / 1000), "at_ms": Int(e.at.millisecondsSinceEpoch),
                "account_id": e.accountID, "verdict": e.verdict.rawValue, "score": e.score, "reasons": e.reasons,
                "endpoint": e.endpoint, "caller": e.caller ?? "", "request_id": e.requestID ?? "", "directives": e.directives,
            ]
            data += try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys, .withoutEscapingSlashes])
            data.append(0x0A)
        }
        return data
    }
}
