import DistillWatchCore
import Foundation
import GRDB

/// The default ``EventStore``: one SQLite file through GRDB, in WAL mode.
///
/// Each ``append(_:at:)`` is one transaction. With ``Synchronous/full`` (the default) the
/// WAL is fsynced at every commit, so an acknowledged batch survives a power cut; with
/// ``Synchronous/normal`` it is fsynced only at checkpoints: an acknowledged batch still
/// survives a crash or `kill -9` of the process (the WAL is in the operating system's
/// cache), but the last commits before a power cut or kernel panic may be lost. Readers
/// never block the writer (WAL).
///
/// Tables: `events` (the log: sequence, kind, subject, received_at, payload) and
/// `decisions` (the audit log). Labels are events; a partial index on label events lists
/// them by subject without touching the exchanges.
public final class SQLiteEventStore: EventStore {
    public enum Synchronous: String, Sendable, CaseIterable {
        case full
        case normal
    }

    public let path: String
    private let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// - Throws: ``StoreError`` naming the file when it cannot be opened or is not a
    ///   DistillWatch database.
    public init(path: String, synchronous: Synchronous = .full) throws {
        self.path = path
        var configuration = Configuration()
        configuration.label = "distillwatch"
        configuration.busyMode = .timeout(5)
        let pragma = "PRAGMA synchronous = \(synchronous.rawValue.uppercased())"
        configuration.prepareDatabase { db in
            try db.execute(sql: pragma)
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError("\(path): cannot open the database: \(error)")
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE events (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind INTEGER NOT NULL,
                    subject TEXT,
                    received_at INTEGER NOT NULL,
                    payload BLOB NOT NULL
                );
                CREATE INDEX events_labels ON events(subject, sequence) WHERE kind IN (3, 4);
                CREATE TABLE decisions (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at INTEGER NOT NULL,
                    account_id TEXT NOT NULL,
                    verdict TEXT NOT NULL,
                    score REAL NOT NULL,
                    reasons TEXT NOT NULL,
                    endpoint TEXT NOT NULL,
                    caller TEXT,
                    request_id TEXT
                );
                CREATE INDEX decisions_account ON decisions(account_id, id);
                """)
        }
        return migrator
    }

    public func append(_ events: [NewEvent], at time: Timestamp) async throws -> ClosedRange<Int64>? {
        guard !events.isEmpty else { return nil }
        let receivedAt = time.millisecondsSinceEpoch
        return try await pool.write { db in
            let statement = try db.cachedStatement(
                sql: "INSERT INTO events (kind, subject, received_at, payload) VALUES (?, ?, ?, ?)")
            var first: Int64 = 0
            for (i, e) in events.enumerated() {
                try statement.execute(arguments: [e.kind.rawValue, e.subject, receivedAt, Data(e.payload)])
                if i == 0 { first = db.lastInsertedRowID }
            }
            return first...db.lastInsertedRowID
        }
    }

    public func events(after sequence: Int64, limit: Int) async throws -> [StoredEvent] {
        try await pool.read { db in
            try Self.fetchEvents(db, sql: """
                SELECT sequence, kind, subject, received_at, payload FROM events
                WHERE sequence > ? ORDER BY sequence LIMIT ?
                """, arguments: [sequence, limit])
        }
    }

    private static func fetchEvents(_ db: Database, sql: String, arguments: StatementArguments) throws -> [StoredEvent] {
        var result: [StoredEvent] = []
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            let rawKind: Int = row[1]
            guard let kind = EventKind(rawValue: rawKind) else {
                throw StoreError("event \(row[0] as Int64) has an unknown kind \(rawKind): written by a newer DistillWatch?")
            }
            let payload: [UInt8] = try row.withUnsafeData(atIndex: 4) { data in data.map { [UInt8]($0) } ?? [] }
            result.append(StoredEvent(sequence: row[0], kind: kind, subject: row[2],
                                      receivedAt: Timestamp(millisecondsSinceEpoch: row[3]), payload: payload))
        }
        return result
    }

    public func eventCounts() async throws -> EventCounts {
        try await pool.read { db in
            var counts = EventCounts()
            let rows = try Row.fetchCursor(db, sql: "SELECT kind, COUNT(*), MAX(sequence) FROM events GROUP BY kind")
            while let row = try rows.next() {
                let n: Int = row[1]
                counts.total += n
                counts.lastSequence = max(counts.lastSequence, row[2] as Int64)
                if let kind = EventKind(rawValue: row[0]) { counts.byKind[kind] = n }
            }
            return counts
        }
    }

    public func labels(subject: String, kind: EventKind) async throws -> [StoredEvent] {
        try await pool.read { db in
            try Self.fetchEvents(db, sql: """
                SELECT sequence, kind, subject, received_at, payload FROM events
                WHERE subject = ? AND kind IN (3, 4) AND kind = ? ORDER BY sequence
                """, arguments: [subject, kind.rawValue])
        }
    }

    public func recordDecisions(_ entries: [DecisionAuditEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await pool.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO decisions (at, account_id, verdict, score, reasons, endpoint, caller, request_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for e in entries {
                try statement.execute(arguments: [
                    e.at.millisecondsSinceEpoch, e.accountID, e.verdict.rawValue, e.score,
                    e.reasons.joined(separator: ","), e.endpoint, e.caller, e.requestID,
                ])
            }
        }
    }

    public func decisions(accountID: String?, limit: Int) async throws -> [DecisionAuditEntry] {
        try await pool.read { db in
            let columns = "at, account_id, verdict, score, reasons, endpoint, caller, request_id"
            let rows: [Row]
            if let accountID {
                rows = try Row.fetchAll(db, sql: "SELECT \(columns) FROM decisions WHERE account_id = ? ORDER BY id DESC LIMIT ?",
                                        arguments: [accountID, limit])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT \(columns) FROM decisions ORDER BY id DESC LIMIT ?", arguments: [limit])
            }
            return rows.map { row in
                let reasons: String = row[4]
                return DecisionAuditEntry(
                    at: Timestamp(millisecondsSinceEpoch: row[0]), accountID: row[1],
                    verdict: Verdict(rawValue: row[2]) ?? .allow, score: row[3],
                    reasons: reasons.isEmpty ? [] : reasons.split(separator: ",").map(String.init),
                    endpoint: row[5], caller: row[6], requestID: row[7])
            }
        }
    }

    public func close() async throws {
        try pool.close()
    }
}
