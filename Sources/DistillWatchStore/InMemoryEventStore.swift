import DistillWatchCore
import Synchronization

/// An ``EventStore`` in memory: for tests and for running without a database
/// (`--database :memory:`). Nothing survives the process.
public final class InMemoryEventStore: EventStore {
    /// The served-answer sketches appended (provenance), in order.
    public let servedResponses = Mutex<[ServedResponse]>([])
    private struct State {
        var events: [StoredEvent] = []
        var decisions: [DecisionAuditEntry] = []
        var quarantine: [Int64: QuarantineEntry] = [:]
        var closed = false
        var lastSequence: Int64 = 0
        var compactedThrough: Int64 = 0
        let logID = Int64.random(in: 1...Int64.max)

        /// The position of the first event after `sequence` (events are in sequence order).
        func start(after sequence: Int64) -> Int {
            var lo = 0, hi = events.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if events[mid].sequence <= sequence { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
    }

    private let state = Mutex(State())
    private let shared = InMemorySharedObjectStore()
    /// The console's history (hourly totals, sightings, notes, sign-offs).
    public let history: InMemoryHistoryStore

    public init() {
        history = InMemoryHistoryStore()
        history.setLabelSource { [weak self] limit in
            self?.state.withLock { s in Array(s.events.reversed().lazy.filter { $0.kind == .accountLabel || $0.kind == .campaignLabel }.prefix(limit)) } ?? []
        }
    }

    public func append(_ events: [NewEvent], at time: Timestamp) async throws -> ClosedRange<Int64>? {
        try state.withLock { s in
            guard !s.closed else { throw StoreError("the store is closed") }
            guard !events.isEmpty else { return nil }
            let first = s.lastSequence + 1
            for e in events {
                s.lastSequence += 1
                s.events.append(StoredEvent(sequence: s.lastSequence, kind: e.kind, subject: e.subject,
                                            receivedAt: time, payload: e.payload))
            }
            return first...s.lastSequence
        }
    }

    public func events(after sequence: Int64, limit: Int) async throws -> [StoredEvent] {
        state.withLock { s in
            let start = s.start(after: sequence)
            return Array(s.events[start..<min(s.events.count, start + limit)])
        }
    }

    public func eventCounts() async throws -> EventCounts {
        state.withLock { s in
            var counts = EventCounts(total: s.events.count, lastSequence: s.lastSequence, quarantined: s.quarantine.count,
                                     compactedThrough: s.compactedThrough)
            for e in s.events { counts.byKind[e.kind, default: 0] += 1 }
            return counts
        }
    }

    public func logPosition() async throws -> EventCounts {
        state.withLock { s in
            var position = EventCounts(lastSequence: s.lastSequence, compactedThrough: s.compactedThrough)
            position.logID = s.logID
            return position
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
                let i = s.start(after: q.sequence - 1)
                guard i < s.events.count, s.events[i].sequence == q.sequence else { return nil }
                var event = s.events[i]
                let bytes = event.payload.count
                if bytes > QuarantinedEvent.listedPayloadBytes { event.payload = Array(event.payload.prefix(QuarantinedEvent.listedPayloadBytes)) }
                return QuarantinedEvent(event: event, reason: q.reason, quarantinedAt: q.at, payloadBytes: bytes)
            }
        }
    }

    public func compact(through sequence: Int64) async throws -> Int {
        state.withLock { s in
            let before = s.events.count
            s.events.removeAll { e in e.sequence <= sequence && (e.kind == .exchange || e.kind == .account) && s.quarantine[e.sequence] == nil }
            s.compactedThrough = max(s.compactedThrough, sequence)
            return before - s.events.count
        }
    }

    public func probeWrite(at time: Timestamp) async throws {
        try state.withLock { s in if s.closed { throw StoreError("the store is closed") } }
    }

    public func fileProblem() -> String? { nil }

    public func close() async throws {
        state.withLock { $0.closed = true }
    }
}

extension InMemoryEventStore: SharedObjectStore {
    public func addSharedObjects(_ objects: [SharedObject], at time: Timestamp) async throws -> [SharedObjectAddition] {
        try await shared.addSharedObjects(objects, at: time)
    }
    public func sharedObjects(_ query: SharedObjectQuery) async throws -> SharedObjectPage { try await shared.sharedObjects(query) }
    public func allSharedObjects(in collections: [String]) async throws -> [SharedObject] { try await shared.allSharedObjects(in: collections) }
    public func sharedObjectCounts() async throws -> [String: Int] { try await shared.sharedObjectCounts() }
    public func recordTAXIIStatus(id: String, json: [UInt8], at time: Timestamp) async throws {
        try await shared.recordTAXIIStatus(id: id, json: json, at: time)
    }
    public func taxiiStatus(id: String) async throws -> [UInt8]? { try await shared.taxiiStatus(id: id) }
    public func recordSharingDecision(_ decision: SharingDecision) async throws { try await shared.recordSharingDecision(decision) }
    public func sharingDecisions(campaignID: String?, limit: Int) async throws -> [SharingDecision] {
        try await shared.sharingDecisions(campaignID: campaignID, limit: limit)
    }
}

extension InMemoryEventStore: HistoryAppending, HistoryProviding {
    public var historyStore: any HistoryStore { history }

    public func appendWithHistory(_ events: [NewEvent], activity: HourlyActivityLedger, served: [ServedResponse],
                                  at time: Timestamp) async throws -> ClosedRange<Int64>? {
        let range = try await append(events, at: time)
        if range != nil {
            history.record(activity)
            if !served.isEmpty { servedResponses.withLock { $0.append(contentsOf: served) } }
        }
        return range
    }
}
