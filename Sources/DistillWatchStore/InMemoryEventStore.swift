import DistillWatchCore
import Synchronization

/// An ``EventStore`` in memory: for tests and for running without a database
/// (`--database :memory:`). Nothing survives the process.
public final class InMemoryEventStore: EventStore {
    private struct State {
        var events: [StoredEvent] = []
        var decisions: [DecisionAuditEntry] = []
        var quarantine: [Int64: QuarantineEntry] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    public init() {}

    public func append(_ events: [NewEvent], at time: Timestamp) async throws -> ClosedRange<Int64>? {
        try state.withLock { s in
            guard !s.closed else { throw StoreError("the store is closed") }
            guard !events.isEmpty else { return nil }
            let first = Int64(s.events.count) + 1
            for e in events {
                s.events.append(StoredEvent(sequence: Int64(s.events.count) + 1, kind: e.kind, subject: e.subject,
                                            receivedAt: time, payload: e.payload))
            }
            return first...Int64(s.events.count)
        }
    }

    public func events(after sequence: Int64, limit: Int) async throws -> [StoredEvent] {
        state.withLock { s in
            let start = Int(max(0, min(sequence, Int64(s.events.count))))
            return Array(s.events[start..<min(s.events.count, start + limit)])
        }
    }

    public func eventCounts() async throws -> EventCounts {
        state.withLock { s in
            var counts = EventCounts(total: s.events.count, lastSequence: Int64(s.events.count), quarantined: s.quarantine.count)
            for e in s.events { counts.byKind[e.kind, default: 0] += 1 }
            return counts
        }
    }

    public func labels(subject: String, kind: EventKind) async throws -> [StoredEvent] {
        state.withLock { s in s.events.filter { $0.kind == kind && $0.subject == subject } }
    }

    public func recordDecisions(_ entries: [DecisionAuditEntry]) async throws {
        state.withLock { $0.decisions.append(contentsOf: entries) }
    }

    public func decisions(accountID: String?, limit: Int) async throws -> [DecisionAuditEntry] {
        state.withLock { s in
            Array(s.decisions.reversed().lazy.filter { accountID == nil || $0.accountID == accountID }.prefix(limit))
        }
    }

    public func quarantine(_ entries: [QuarantineEntry]) async throws {
        state.withLock { s in
            for e in entries where s.quarantine[e.sequence] == nil { s.quarantine[e.sequence] = e }
        }
    }

    public func quarantined(limit: Int) async throws -> [QuarantinedEvent] {
        state.withLock { s in
            s.quarantine.values.sorted { $0.sequence < $1.sequence }.prefix(limit).compactMap { q in
                guard q.sequence >= 1, q.sequence <= Int64(s.events.count) else { return nil }
                return QuarantinedEvent(event: s.events[Int(q.sequence) - 1], reason: q.reason, quarantinedAt: q.at)
            }
        }
    }

    public func close() async throws {
        state.withLock { $0.closed = true }
    }
}
