import DistillWatchCore

/// What the server's durable state is made of: an append-only log of the inputs that
/// changed the engine (accepted exchange lines, account records, analyst labels, flushes),
/// in one sequence, plus the decision audit log.
///
/// The engine is deterministic, so replaying the log in sequence through a fresh
/// `TrafficScanner` rebuilds exactly the state the server had when it stopped, however it
/// stopped. ``append(_:at:)`` returns only once the events are durable, and the server
/// answers 2xx only after that.
///
/// Implementations: ``SQLiteEventStore`` (GRDB, WAL: the default) and
/// ``InMemoryEventStore`` (tests, `--database :memory:`).
public protocol EventStore: Sendable {
    /// Appends `events` in one transaction, in order, and returns the sequence numbers
    /// they were given (`nil` for an empty list). When it returns, the events survive a
    /// crash of the process (and, with full synchronisation, of the machine).
    /// - Complexity: O(n) in the number and size of the events.
    func append(_ events: [NewEvent], at time: Timestamp) async throws -> ClosedRange<Int64>?

    /// Up to `limit` events with a sequence number greater than `sequence`, in sequence order.
    func events(after sequence: Int64, limit: Int) async throws -> [StoredEvent]

    /// Number of events in the log, and of each kind.
    /// - Complexity: O(events) (a scan): for status pages, not for start-up.
    func eventCounts() async throws -> EventCounts

    /// The last sequence given and how far the log was compacted (the other counts 0).
    /// - Complexity: O(1).
    func logPosition() async throws -> EventCounts

    /// The labels given to an account or a campaign, oldest first.
    func labels(subject: String, kind: EventKind) async throws -> [StoredEvent]

    /// Appends entries to the decision audit log.
    func recordDecisions(_ entries: [DecisionAuditEntry]) async throws

    /// The latest decisions, newest first; only `accountID`'s when given.
    func decisions(accountID: String?, limit: Int) async throws -> [DecisionAuditEntry]

    /// Sets aside events that replay could not apply (an undecodable payload, a value
    /// outside ``RecordLimits``): they stay in the log, are counted in ``eventCounts()``
    /// and listed by ``quarantined(limit:)``, so a poison event never stops the server.
    /// Quarantining an event twice keeps the first entry.
    func quarantine(_ entries: [QuarantineEntry]) async throws

    /// The quarantined events, oldest first, with their reasons.
    func quarantined(limit: Int) async throws -> [QuarantinedEvent]

    /// Deletes the exchange and account events up to and including `sequence` (labels,
    /// flushes and quarantined events stay: they are the analysts' record and the
    /// evidence of what was set aside). The server calls it only for events that a kept
    /// snapshot covers (Documentation/Server.md, "Snapshots and log retention"). Runs in
    /// transactions of a few thousand rows, so ingest waits at most one of them.
    /// - Returns: the number of events deleted.
    /// - Complexity: O(deleted events).
    func compact(through sequence: Int64) async throws -> Int

    /// Writes one small row and commits: whether the store can take writes right now
    /// (a full disk, an unwritable file or a lost database throw).
    func probeWrite(at time: Timestamp) async throws

    /// A problem with the database file itself that writes would not reveal at once: the
    /// file at the path was removed or replaced by another file (another inode) since it
    /// was opened. `nil` when the path still names the open file (or there is no file).
    /// - Complexity: one `stat(2)`.
    func fileProblem() -> String?

    /// Releases the store's resources (the database connection).
    func close() async throws
}

/// Why an event of the log was set aside.
public struct QuarantineEntry: Sendable, Equatable {
    public var sequence: Int64
    public var reason: String
    /// When it was set aside (server wall clock).
    public var at: Timestamp

    public init(sequence: Int64, reason: String, at: Timestamp) {
        self.sequence = sequence
        self.reason = reason
        self.at = at
    }
}

/// A quarantined event with the reason it was set aside.
public struct QuarantinedEvent: Sendable, Equatable {
    /// The event, its payload cut to ``listedPayloadBytes``.
    public var event: StoredEvent
    public var reason: String
    public var quarantinedAt: Timestamp
    /// The stored payload's whole size, in bytes (more than `event.payload.count` when cut).
    public var payloadBytes: Int

    /// The most of a quarantined event's payload a listing carries: 16 KiB. A stored form
    /// is a few hundred bytes; a damaged or tampered row may hold gigabytes, and a listing
    /// of it must not take the process's memory.
    public static let listedPayloadBytes = 16 << 10

    public init(event: StoredEvent, reason: String, quarantinedAt: Timestamp, payloadBytes: Int? = nil) {
        self.event = event
        self.reason = reason
        self.quarantinedAt = quarantinedAt
        self.payloadBytes = payloadBytes ?? event.payload.count
    }
}

/// The kinds of events in the log. The raw values are stored: never renumber.
public enum EventKind: Int, Sendable, Codable, CaseIterable {
    /// An accepted exchange record (spec §1), in its stored form: the decoded record
    /// re-encoded with only the fields the engine reads and the prompt's content sketch,
    /// never the line as received, so no prompt, response or unknown field is kept.
    /// (Databases of format 1 held the line as received; opening one upgrades it.)
    case exchange = 1
    /// An account record (spec §2), in its stored form (the decoded record re-encoded).
    case account = 2
    /// An analyst's label on an account: a JSON ``LabelEvent``.
    case accountLabel = 3
    /// An analyst's label on a campaign: a JSON ``LabelEvent``.
    case campaignLabel = 4
    /// The reorder buffer was flushed (`POST /v1/flush`): replay must flush at the same point.
    case flush = 5
    /// The indicators shared by other providers changed (an import, a pushed or pulled
    /// bundle, a revocation): a JSON array of `SharedIndicator`s, the whole set from then on.
    case indicators = 6
    /// A stored event whose kind this version does not know (a newer DistillWatch's, or a
    /// damaged row): what the store reads it as, so that replay quarantines it instead of
    /// stopping. Never written.
    case unknown = 0

    /// The name used in JSON (`/v1/status`).
    public var name: String {
        switch self {
        case .unknown: return "unknown"
        case .exchange: return "exchange"
        case .account: return "account"
        case .accountLabel: return "account_label"
        case .campaignLabel: return "campaign_label"
        case .flush: return "flush"
        case .indicators: return "indicators"
        }
    }
}

/// An event to append. `subject` is the account (or campaign) it concerns, kept in a
/// column so labels can be listed without reading every payload.
public struct NewEvent: Sendable, Equatable {
    public var kind: EventKind
    public var subject: String?
    public var payload: [UInt8]

    public init(kind: EventKind, subject: String?, payload: [UInt8]) {
        self.kind = kind
        self.subject = subject
        self.payload = payload
    }
}

/// An event as stored, with its place in the log and when the server received it.
public struct StoredEvent: Sendable, Equatable {
    public var sequence: Int64
    public var kind: EventKind
    public var subject: String?
    public var receivedAt: Timestamp
    public var payload: [UInt8]

    public init(sequence: Int64, kind: EventKind, subject: String?, receivedAt: Timestamp, payload: [UInt8]) {
        self.sequence = sequence
        self.kind = kind
        self.subject = subject
        self.receivedAt = receivedAt
        self.payload = payload
    }
}

public struct EventCounts: Sendable, Equatable, Codable {
    public var total: Int
    public var lastSequence: Int64
    public var byKind: [EventKind: Int]
    /// Events set aside by replay (see ``EventStore/quarantine(_:)``).
    public var quarantined: Int
    /// The exchange and account events up to this sequence were compacted away (0: none):
    /// the state they built lives only in snapshots.
    public var compactedThrough: Int64
    /// A random number given to the log when it was created: snapshots carry it, so a
    /// snapshot of another database (a restored backup, a log started anew beside old
    /// snapshots) is never taken for this one's. 0 when unknown.
    public var logID: Int64 = 0

    public init(total: Int = 0, lastSequence: Int64 = 0, byKind: [EventKind: Int] = [:], quarantined: Int = 0,
                compactedThrough: Int64 = 0) {
        self.total = total
        self.lastSequence = lastSequence
        self.byKind = byKind
        self.quarantined = quarantined
        self.compactedThrough = compactedThrough
    }

    public subscript(kind: EventKind) -> Int { byKind[kind] ?? 0 }
}

/// The payload of a label event: what an analyst decided, why, and when.
public struct LabelEvent: Sendable, Equatable, Codable {
    public var label: AnalystLabel
    public var note: String?
    /// Who gave the label: the name of the token used.
    public var analyst: String?
    /// When the label was given (server wall clock). The server applies it as of the
    /// engine's own time at that point of the log (this time if it has seen no traffic).
    public var at: Timestamp

    public init(label: AnalystLabel, note: String?, analyst: String?, at: Timestamp) {
        self.label = label
        self.note = note
        self.analyst = analyst
        self.at = at
    }
}

/// One answer to a gateway (`/v1/decide` or the LiteLLM guardrail), for the audit log.
public struct DecisionAuditEntry: Sendable, Equatable, Codable {
    public var at: Timestamp
    public var accountID: String
    public var verdict: Verdict
    public var score: Double
    /// The names of the signals that contributed, strongest first.
    public var reasons: [String]
    /// The endpoint that answered: `decide` or `litellm`.
    public var endpoint: String
    /// The token name of the caller.
    public var caller: String?
    public var requestID: String?
    /// The directives the answer carried, as tokens (`withhold_reasoning`,
    /// `cap_max_tokens=4096`), and `refused:<directive>` when one refused the request.
    public var directives: [String]

    public init(at: Timestamp, accountID: String, verdict: Verdict, score: Double, reasons: [String],
                endpoint: String, caller: String?, requestID: String?, directives: [String] = []) {
        self.directives = directives
        self.at = at
        self.accountID = accountID
        self.verdict = verdict
        self.score = score
        self.reasons = reasons
        self.endpoint = endpoint
        self.caller = caller
        self.requestID = requestID
    }

    enum CodingKeys: String, CodingKey {
        case at
        case accountID = "account_id"
        case verdict, score, reasons, endpoint, caller
        case requestID = "request_id"
        case directives
    }

    /// Entries written before directives existed have none.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(at: try c.decode(Timestamp.self, forKey: .at), accountID: try c.decode(String.self, forKey: .accountID),
                  verdict: try c.decode(Verdict.self, forKey: .verdict), score: try c.decode(Double.self, forKey: .score),
                  reasons: try c.decode([String].self, forKey: .reasons), endpoint: try c.decode(String.self, forKey: .endpoint),
                  caller: try c.decodeIfPresent(String.self, forKey: .caller),
                  requestID: try c.decodeIfPresent(String.self, forKey: .requestID),
                  directives: try c.decodeIfPresent([String].self, forKey: .directives) ?? [])
    }
}

/// A store problem the operator can act on.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The store refused this batch for something in the batch itself (a value too big for
/// it), not because storage is failing: other batches go on being written.
public struct StoreBatchError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What becomes of a format-1 payload (an exchange or account line as received) when its
/// database is upgraded: its typed form, or a replacement and the reason it is set aside.
public enum PayloadUpgrade: Sendable, Equatable {
    case replace([UInt8])
    case quarantine(replacement: [UInt8], reason: String)
}

/// Turns a format-1 payload of the given kind into its format-2 form.
public typealias PayloadUpgrader = @Sendable (EventKind, [UInt8]) -> PayloadUpgrade
