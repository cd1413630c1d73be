import DistillWatchCore
import Foundation
import GRDB
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The default ``EventStore``: one SQLite file through GRDB, in WAL mode with an
/// exclusive lock.
///
/// The connection takes SQLite's `EXCLUSIVE` locking mode before its first access, so the
/// WAL index lives in the process's heap instead of a memory-mapped `-shm` file: a disk
/// that fills or a `-shm` file that is truncated, replaced or made unwritable can then
/// only fail a write with an error (answered 503), never raise `SIGBUS` in the server
/// (https://www.sqlite.org/wal.html#noshm). A second process cannot open the database
/// while the server runs (it gets "database is locked"), which also keeps two servers
/// off one log.
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
    private let database: DatabaseQueue
    /// Where ``append(_:at:)``'s transaction runs (``AppendLane``); `nil`: GRDB's own
    /// writer queue.
    private let appendLane: (any AppendLane)?
    private let closed = Atomic<Bool>(false)

    /// The connection, until ``close()``: after it every call throws ``StoreError``
    /// instead of reaching a closed SQLite handle (which GRDB 7 does not always refuse).
    var pool: DatabaseQueue {
        get throws {
            guard !closed.load(ordering: .acquiring) else { throw StoreError("\(path): the store is closed") }
            return database
        }
    }
    /// The device and inode of the file opened, to notice it being replaced.
    private let identity: FileIdentity?

    /// The format of the files this version writes, kept in the file header
    /// (`PRAGMA user_version`): 1 stored exchange and account lines as received; 3 adds the
    /// `meta` table (how far the log was compacted); 4 adds the shared STIX objects (TAXII
    /// collections) and TAXII status resources; 2 stores
    /// them in their typed form and has the quarantine table; 5 the console's history; 6
    /// the directives of audited answers; 7 the provenance index; 8 which partner added
    /// each shared object.
    public static let formatVersion = 8

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// A format-1 database is upgraded in one transaction: `upgrade` turns each stored
    /// exchange or account line into its typed form (or sets it aside with a reason), so
    /// that no text received before the upgrade stays in the file. Without `upgrade`, a
    /// format-1 database is refused.
    /// - Parameter appendLane: threads that run the appends' transactions (the server's
    ///   lower-priority ingest threads); `nil` runs them on GRDB's writer queue.
    /// - Throws: ``StoreError`` naming the file and what to do when it is empty (0 bytes),
    ///   not a DistillWatch database, damaged, written by a newer DistillWatch, or of an
    ///   older format that cannot be upgraded here.
    public init(path: String, synchronous: Synchronous = .full, upgrade: PayloadUpgrader? = nil,
                appendLane: (any AppendLane)? = nil) throws {
        self.path = path
        self.appendLane = appendLane
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == 0 {
            throw StoreError("""
                \(path): the file is empty (0 bytes), so it holds no event log. If it was truncated, \
                restore it from a backup; to start a new log, remove the file or give --database a new path
                """)
        }
        try Self.checkHeader(path)
        try Self.checkWritable(path)
        var configuration = Configuration()
        configuration.label = "distillwatch"
        configuration.busyMode = .timeout(5)
        let pragma = "PRAGMA synchronous = \(synchronous.rawValue.uppercased())"
        configuration.prepareDatabase { db in
            // Before anything reads the file: no shared-memory WAL index (see the type's notes).
            try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE")
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            guard mode == "wal" else { throw StoreError("\(path): cannot use write-ahead logging (journal mode \(mode ?? "?"))") }
            try db.execute(sql: pragma)
        }
        let migrator = Self.migrator(upgrade: upgrade)
        do {
            let opened = try DatabaseQueue(path: path, configuration: configuration)
            database = opened
            try opened.read { db in try Self.checkCanMigrate(db, migrator: migrator, upgrade: upgrade, path: path) }
            let upgrading = try opened.read { db in
                let applied = try migrator.appliedIdentifiers(db)
                return applied.contains("v1") && !applied.contains("v2-typed-payloads")
            }
            try migrator.migrate(opened)
            if upgrading {
                // The rewritten pages may still hold the old text in free space and in the
                // WAL: rebuild the file and empty the WAL so nothing received as text remains.
                try opened.writeWithoutTransaction { db in
                    try db.execute(sql: "VACUUM")
                    try db.checkpoint(.truncate)
                }
            }
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw StoreError("""
                \(path): the database is in use by another process (another distillwatch serve?). \
                Stop it, or give --database another path
                """)
        } catch {
            throw StoreError("""
                \(path): cannot open the database: \(error). If the file is damaged, restore it from a backup; \
                to start a new log, give --database a new path
                """)
        }
        identity = FileIdentity(path: path)
    }

    /// Refuses a file that exists, holds bytes and does not begin with SQLite's 16-byte
    /// header ("SQLite format 3" and a NUL; SQLite file format §1.3.1): SQLite itself takes a
    /// 1-byte file (`echo > state.sqlite`) for a new database and writes over it.
    private static func checkHeader(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }   // Missing: a new log. Unreadable: SQLite says why.
        defer { _ = Glibc.close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_size > 0 else { return }
        var header = [UInt8](repeating: 0, count: 16)
        let n = header.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 16) }
        guard n != 16 || header != Array("SQLite format 3\u{0}".utf8) else { return }
        throw StoreError("""
            \(path): not an SQLite database (\(status.st_size) bytes that do not begin with SQLite's header), so it holds \
            no event log; nothing in it was changed. If it was damaged, restore it from a backup; to start a new log, \
            remove the file or give --database a new path
            """)
    }

    /// Refuses, before SQLite tries (and reports a vague I/O error), a database this user
    /// may only read: the file, its WAL or its folder without write permission.
    private static func checkWritable(_ path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        var problems: [String] = []
        for file in [path, path + "-wal"] where FileManager.default.fileExists(atPath: file) && access(file, W_OK) != 0 {
            problems.append("no write permission on \(file)")
        }
        if access(folder.isEmpty ? "." : folder, W_OK) != 0 {
            problems.append("no write permission on its folder \(folder.isEmpty ? "." : folder) (SQLite creates its WAL there)")
        }
        guard problems.isEmpty else {
            throw StoreError("""
                \(path): the database can only be read (\(problems.joined(separator: "; "))). Give the server's user write \
                permission on the file and its folder (or mount it read-write), then start again
                """)
        }
    }

    /// Refuses a file that is not ours, newer than this version, or old without an upgrader.
    private static func checkCanMigrate(_ db: Database, migrator: DatabaseMigrator, upgrade: PayloadUpgrader?, path: String) throws {
        // Ours from the first version on: every log was made by the migrator, so its first
        // migration is recorded, and it made `events`. A database with tables but not both
        // (a table named `events` alone, another GRDB application's migrations, even one
        // called "v1") is someone else's.
        let applied = try migrator.appliedIdentifiers(db)
        if try !applied.contains("v1") || !db.tableExists("events"),
           try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'") ?? 0 > 0 {
            throw StoreError("\(path): an SQLite database, but not a DistillWatch event log. Give --database another path")
        }
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        if try migrator.hasBeenSuperseded(db) || version > formatVersion {
            throw StoreError("""
                \(path): written by a newer DistillWatch (format \(version); this version reads up to \(formatVersion)). \
                Run the newer version, or give --database a new path
                """)
        }
        if applied.contains("v1"), !applied.contains("v2-typed-payloads"), upgrade == nil {
            throw StoreError("""
                \(path): a format-1 database (it holds records as received). Start `distillwatch serve` on it \
                once to upgrade it to format \(formatVersion)
                """)
        }
    }

    private static func migrator(upgrade: PayloadUpgrader?) -> DatabaseMigrator {
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
        migrator.registerMigration("v2-typed-payloads") { db in
            try db.execute(sql: """
                CREATE TABLE quarantine (
                    sequence INTEGER PRIMARY KEY,
                    reason TEXT NOT NULL,
                    quarantined_at INTEGER NOT NULL
                );
                """)
            if let upgrade { try upgradePayloads(db, upgrade) }
            try db.execute(sql: "PRAGMA user_version = \(formatVersion)")
        }
        migrator.registerMigration("v3-compaction") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                INSERT INTO meta (key, value) VALUES ('compacted_through', 0), ('probe', 0), ('log_id', abs(random()) + 1);
                """)
            try db.execute(sql: "PRAGMA user_version = 3")
        }
        migrator.registerMigration("v4-sharing") { db in
            try db.execute(sql: """
                CREATE TABLE stix_objects (
                    collection TEXT NOT NULL,
                    id TEXT NOT NULL,
                    version TEXT NOT NULL,
                    type TEXT NOT NULL,
                    date_added INTEGER NOT NULL,
                    revoked INTEGER NOT NULL,
                    json BLOB NOT NULL,
                    PRIMARY KEY (collection, id, version)
                );
                CREATE UNIQUE INDEX stix_objects_added ON stix_objects(collection, date_added);
                CREATE TABLE taxii_status (id TEXT PRIMARY KEY, at INTEGER NOT NULL, json BLOB NOT NULL);
                CREATE TABLE sharing_decisions (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at INTEGER NOT NULL,
                    campaign_id TEXT NOT NULL,
                    stix_campaign_id TEXT NOT NULL,
                    action TEXT NOT NULL,
                    analyst TEXT,
                    note TEXT,
                    object_ids TEXT NOT NULL
                );
                CREATE INDEX sharing_decisions_campaign ON sharing_decisions(campaign_id, id);
                """)
            try db.execute(sql: "PRAGMA user_version = 4")
        }
        migrator.registerMigration("v5-history") { db in
            // The console's history (Documentation/Console.md, "History"). It starts empty:
            // hours before the upgrade are not rebuilt from the log.
            try db.execute(sql: """
                CREATE TABLE account_hours (
                    account_id TEXT NOT NULL, hour INTEGER NOT NULL,
                    exchanges INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
                    cost_micro_usd INTEGER NOT NULL,
                    PRIMARY KEY (account_id, hour)
                ) WITHOUT ROWID;
                CREATE INDEX account_hours_hour ON account_hours(hour);
                CREATE TABLE traffic_hours (
                    hour INTEGER PRIMARY KEY,
                    exchanges INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
                    cost_micro_usd INTEGER NOT NULL
                );
                CREATE TABLE identifier_sightings (
                    kind INTEGER NOT NULL, value TEXT NOT NULL, account_id TEXT NOT NULL,
                    first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, exchanges INTEGER NOT NULL,
                    PRIMARY KEY (kind, value, account_id)
                ) WITHOUT ROWID;
                CREATE INDEX identifier_sightings_account ON identifier_sightings(account_id);
                CREATE INDEX identifier_sightings_value ON identifier_sightings(value);
                CREATE TABLE analyst_notes (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    subject_kind TEXT NOT NULL, subject TEXT NOT NULL, note TEXT NOT NULL, analyst TEXT, at INTEGER NOT NULL
                );
                CREATE INDEX analyst_notes_subject ON analyst_notes(subject_kind, subject, id);
                CREATE TABLE screening_signoffs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    period TEXT NOT NULL, account_id TEXT NOT NULL, disposition TEXT NOT NULL,
                    note TEXT, analyst TEXT, at INTEGER NOT NULL
                );
                CREATE INDEX screening_signoffs_period ON screening_signoffs(period, account_id, id);
                CREATE INDEX events_recent_labels ON events(sequence) WHERE kind IN (3, 4);
                """)
            try db.execute(sql: "PRAGMA user_version = 5")
        }
        migrator.registerMigration("v6-countermeasures") { db in
            // The directives each audited answer carried (Documentation/Countermeasures.md):
            // a JSON array of tokens such as "cap_max_tokens=4096"; older rows hold none.
            try db.execute(sql: "ALTER TABLE decisions ADD COLUMN directives TEXT NOT NULL DEFAULT '[]'")
            try db.execute(sql: "PRAGMA user_version = 6")
        }
        migrator.registerMigration("v7-provenance") { db in
            // Served answers' keyed sketches (Documentation/Provenance.md), written with the
            // exchanges that carried response text when provenance_index is on.
            try db.execute(sql: ProvenanceIndex.schema)
            try db.execute(sql: "PRAGMA user_version = 7")
        }
        migrator.registerMigration("v8-object-writers") { db in
            // Which partner's token added each shared object (Documentation/Sharing.md,
            // "Partners' indicators"); objects stored before are this provider's.
            try db.execute(sql: "ALTER TABLE stix_objects ADD COLUMN added_by TEXT")
            try db.execute(sql: "PRAGMA user_version = 8")
        }
        return migrator
    }

    /// Rewrites every format-1 exchange and account payload through `upgrade`.
    private static func upgradePayloads(_ db: Database, _ upgrade: PayloadUpgrader) throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var after: Int64 = 0
        let update = try db.makeStatement(sql: "UPDATE events SET payload = ? WHERE sequence = ?")
        let quarantine = try db.makeStatement(sql: "INSERT OR IGNORE INTO quarantine (sequence, reason, quarantined_at) VALUES (?, ?, ?)")
        while true {
            let page = try fetchEvents(db, sql: """
                SELECT sequence, kind, subject, received_at, payload FROM events
                WHERE sequence > ? AND kind IN (1, 2) ORDER BY sequence LIMIT 4096
                """, arguments: [after])
            guard let last = page.last else { break }
            for event in page {
                switch upgrade(event.kind, event.payload) {
                case .replace(let payload):
                    try update.execute(arguments: [Data(payload), event.sequence])
                case .quarantine(let payload, let reason):
                    try update.execute(arguments: [Data(payload), event.sequence])
                    try quarantine.execute(arguments: [event.sequence, "upgrade to format \(formatVersion): " + reason, now])
                }
            }
            after = last.sequence
        }
    }

    public func append(_ events: [NewEvent], at time: Timestamp) async throws -> ClosedRange<Int64>? {
        try await appendWithHistory(events, activity: HourlyActivityLedger(), served: [], at: time)
    }

    public func appendWithHistory(_ events: [NewEvent], activity: HourlyActivityLedger, served: [ServedResponse],
                                  at time: Timestamp) async throws -> ClosedRange<Int64>? {
        guard !events.isEmpty else { return nil }
        let receivedAt = time.millisecondsSinceEpoch
        do {
            return try await appendTransaction(events, receivedAt: receivedAt, activity: activity, served: served)
        } catch let error as DatabaseError
            where [.SQLITE_TOOBIG, .SQLITE_CONSTRAINT, .SQLITE_MISMATCH, .SQLITE_RANGE].contains(error.resultCode) {
            throw StoreBatchError("the batch cannot be stored: \(error)")
        }
    }

    private func appendTransaction(_ events: [NewEvent], receivedAt: Int64, activity: HourlyActivityLedger? = nil,
                                   served: [ServedResponse] = []) async throws -> ClosedRange<Int64>? {
        let lane = appendLane
        @Sendable func transaction(_ db: Database) throws -> ClosedRange<Int64> {
            if let activity, !activity.isEmpty { try Self.writeActivity(db, activity) }
            if !served.isEmpty { try ProvenanceIndex.insert(served, into: db) }
            let statement = try db.cachedStatement(
                sql: "INSERT INTO events (kind, subject, received_at, payload) VALUES (?, ?, ?, ?)")
            var first: Int64 = 0
            for (i, e) in events.enumerated() {
                try statement.execute(arguments: [e.kind.rawValue, e.subject, receivedAt, Data(e.payload)])
                if i == 0 { first = db.lastInsertedRowID }
                lane?.yieldIfDue()
            }
            return first...db.lastInsertedRowID
        }
        return try await write(transaction)
    }

    /// One write transaction of the bulk work that runs while ingest does (appends, audit
    /// entries, quarantine, compaction and history pruning), on the ``AppendLane`` when the
    /// store has one: GRDB's
    /// synchronous `write` runs it on the calling thread (a `DispatchQueue.sync` on the
    /// connection's serial queue), so on the lane's thread.
    func write<T: Sendable>(_ transaction: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let pool = try self.pool
        guard let appendLane else { return try await pool.write(transaction) }
        return try await appendLane.run { try pool.write(transaction) }
    }

    public func events(after sequence: Int64, limit: Int) async throws -> [StoredEvent] {
        do {
            return try await pool.read { db in
                try Self.fetchEvents(db, sql: """
                    SELECT sequence, kind, subject, received_at, payload FROM events
                    WHERE sequence > ? ORDER BY sequence LIMIT ?
                    """, arguments: [sequence, limit])
            }
        } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode) {
            throw StoreError("""
                \(path): the event log is damaged after event \(sequence) (SQLite error \(error.resultCode.rawValue): \
                \(error.message ?? "malformed")). Stop the server and keep a copy of the file; restore it from a backup, \
                or salvage what can be read with `sqlite3 \(path) .recover`
                """)
        }
    }

    private static func fetchEvents(_ db: Database, sql: String, arguments: StatementArguments) throws -> [StoredEvent] {
        var result: [StoredEvent] = []
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            // A kind this version does not know is read as `.unknown`: replay quarantines it.
            let kind = EventKind(rawValue: row[1]).flatMap { $0 == .unknown ? nil : $0 } ?? .unknown
            let payload: [UInt8] = try row.withUnsafeData(atIndex: 4) { data in data.map { [UInt8]($0) } ?? [] }
            result.append(StoredEvent(sequence: row[0], kind: kind, subject: row[2],
                                      receivedAt: Timestamp(millisecondsSinceEpoch: row[3]), payload: payload))
        }
        return result
    }

    public func logPosition() async throws -> EventCounts {
        try await pool.read { db in
            var position = EventCounts(lastSequence: try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'events'") ?? 0,
                                       compactedThrough: try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'compacted_through'") ?? 0)
            position.logID = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'log_id'") ?? 0
            return position
        }
    }

    public func eventCounts() async throws -> EventCounts {
        try await pool.read { db in
            var counts = EventCounts()
            counts.quarantined = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM quarantine") ?? 0
            // The last sequence given, even if compaction deleted the events that held it.
            counts.lastSequence = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'events'") ?? 0
            counts.compactedThrough = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'compacted_through'") ?? 0
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
        let lane = appendLane
        try await write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO decisions (at, account_id, verdict, score, reasons, endpoint, caller, request_id, directives)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for e in entries {
                try statement.execute(arguments: [
                    e.at.millisecondsSinceEpoch, e.accountID, e.verdict.rawValue, e.score,
                    Self.encodeReasons(e.reasons), e.endpoint, e.caller, e.requestID, Self.encodeReasons(e.directives),
                ])
                lane?.yieldIfDue()
            }
        }
    }

    public func decisions(accountID: String?, limit: Int) async throws -> [DecisionAuditEntry] {
        try await pool.read { db in
            let columns = "at, account_id, verdict, score, reasons, endpoint, caller, request_id, directives"
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
                    reasons: Self.decodeReasons(reasons),
                    endpoint: row[5], caller: row[6], requestID: row[7], directives: Self.decodeReasons(row[8]))
            }
        }
    }

    /// Reasons are stored as a JSON array of strings, so a reason may hold commas (an
    /// unidentified LiteLLM call's reason lists the fields it tried). Rows written before
    /// this change hold the names joined by commas (signal names, which have none) and are
    /// read the old way.
    static func encodeReasons(_ reasons: [String]) -> String {
        guard !reasons.isEmpty else { return "" }
        let data = (try? JSONEncoder().encode(reasons)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeReasons(_ text: String) -> [String] {
        if text.isEmpty { return [] }
        if text.hasPrefix("["), let list = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) { return list }
        return text.split(separator: ",").map(String.init)
    }

    public func quarantine(_ entries: [QuarantineEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await write { db in
            let statement = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO quarantine (sequence, reason, quarantined_at) VALUES (?, ?, ?)")
            for e in entries { try statement.execute(arguments: [e.sequence, e.reason, e.at.millisecondsSinceEpoch]) }
        }
    }

    public func quarantined(limit: Int) async throws -> [QuarantinedEvent] {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT e.sequence, e.kind, e.subject, e.received_at, substr(e.payload, 1, ?), q.reason, q.quarantined_at,
                       length(e.payload)
                FROM quarantine q JOIN events e ON e.sequence = q.sequence ORDER BY q.sequence LIMIT ?
                """, arguments: [QuarantinedEvent.listedPayloadBytes, limit])
            return rows.map { row in
                let rawKind: Int = row[1]
                // A payload that is text (a damaged row) comes back as text; its bytes either way.
                let payload: [UInt8] = (row[4] as Data?).map { [UInt8]($0) } ?? (row[4] as String?).map { Array($0.utf8) } ?? []
                let event = StoredEvent(sequence: row[0], kind: EventKind(rawValue: rawKind) ?? .unknown, subject: row[2],
                                        receivedAt: Timestamp(millisecondsSinceEpoch: row[3]), payload: payload)
                return QuarantinedEvent(event: event, reason: row[5], quarantinedAt: Timestamp(millisecondsSinceEpoch: row[6]),
                                        payloadBytes: row[7] ?? payload.count)
            }
        }
    }

    /// Events deleted per transaction when compacting: about a millisecond of work, so
    /// that other writers and (on an ``AppendLane``) other threads get their turn between.
    static let compactionChunk = 1_000

    public func compact(through sequence: Int64) async throws -> Int {
        // The mark first: a crash between the deletes leaves it saying the history through
        // `sequence` may be gone, never claiming a full log that is not there.
        try await write { db in
            try db.execute(sql: "UPDATE meta SET value = MAX(value, ?) WHERE key = 'compacted_through'", arguments: [sequence])
        }
        var deleted = 0
        while true {
            let n = try await write { db in
                try db.execute(sql: """
                    DELETE FROM events WHERE sequence IN (
                        SELECT sequence FROM events WHERE sequence <= ? AND kind IN (1, 2)
                        AND sequence NOT IN (SELECT sequence FROM quarantine) ORDER BY sequence LIMIT \(Self.compactionChunk))
                    """, arguments: [sequence])
                return db.changesCount
            }
            deleted += n
            if n == 0 { break }
            await Task.yield()
        }
        return deleted
    }

    public func probeWrite(at time: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'probe'", arguments: [time.millisecondsSinceEpoch])
        }
    }

    public func fileProblem() -> String? {
        guard let identity else { return nil }
        guard let now = FileIdentity(path: path) else {
            return "\(path): the database file was removed while the server had it open; restore it (or restart the server on a new path)"
        }
        guard now == identity else {
            return "\(path): the database file was replaced by another file while the server had it open; put the original back (or restart the server on the new file)"
        }
        return nil
    }

    /// Records the content key the served-answer sketches are made under, or checks it.
    /// - Throws: ``StoreError`` when the database's sketches were made under another key.
    public func bindProvenanceKey(_ key: ContentKey) async throws {
        let path = self.path
        try await pool.write { db in
            try ProvenanceIndex.bind(key, in: db) { held, fingerprint in
                """
                \(path): its served-answer sketches were made under another content key (fingerprint \(held), \
                this key \(fingerprint)); start with that key, or turn provenance_index off
                """
            }
        }
    }

    public func close() async throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try database.close()
    }
}

/// The device and inode of a file: which file a path names.
struct FileIdentity: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64

    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}

// MARK: Shared objects (format 4)

extension SQLiteEventStore: SharedObjectStore {
    public func addSharedObjects(_ objects: [SharedObject], at time: Timestamp) async throws -> [SharedObjectAddition] {
        guard !objects.isEmpty else { return [] }
        return try await pool.write { db in
            var last = try Int64.fetchOne(db, sql: "SELECT MAX(date_added) FROM stix_objects") ?? 0
            let insert = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO stix_objects (collection, id, version, type, date_added, revoked, json, added_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            // The primary key (collection, id, version) serves this lookup.
            let otherWriter = try db.cachedStatement(sql: """
                SELECT added_by FROM stix_objects WHERE collection = ? AND id = ? AND (added_by IS NULL OR added_by != ?) LIMIT 1
                """)
            return try objects.map { o -> SharedObjectAddition in
                if let writer = o.addedBy, let row = try Row.fetchOne(otherWriter, arguments: [o.collection, o.id, writer]) {
                    return .heldByAnother(row[0])
                }
                let added = max(time.millisecondsSinceEpoch * 1000, last + 1)
                try insert.execute(arguments: [o.collection, o.id, o.version, o.type, added, o.revoked, Data(o.json), o.addedBy])
                guard db.changesCount > 0 else { return .alreadyHeld }
                last = added
                return .added
            }
        }
    }

    public func sharedObjects(_ query: SharedObjectQuery) async throws -> SharedObjectPage {
        try await pool.read { db in
            var sql = "SELECT collection, id, version, type, date_added, revoked, json, added_by FROM stix_objects o WHERE collection = ?"
            var arguments: StatementArguments = [query.collection]
            if let after = query.addedAfter {
                sql += " AND date_added > ?"
                arguments += [after]
            }
            if let ids = query.ids {
                sql += " AND id IN (\(ids.map { _ in "?" }.joined(separator: ",")))"
                arguments += StatementArguments(Array(ids))
            }
            if let types = query.types {
                sql += " AND type IN (\(types.map { _ in "?" }.joined(separator: ",")))"
                arguments += StatementArguments(Array(types))
            }
            switch query.versions {
            case .last: sql += " AND version = (SELECT MAX(version) FROM stix_objects p WHERE p.collection = o.collection AND p.id = o.id)"
            case .first: sql += " AND version = (SELECT MIN(version) FROM stix_objects p WHERE p.collection = o.collection AND p.id = o.id)"
            case .all: break
            case .some(let versions):
                sql += " AND version IN (\(versions.map { _ in "?" }.joined(separator: ",")))"
                arguments += StatementArguments(Array(versions))
            }
            sql += " ORDER BY date_added LIMIT ?"
            arguments += [query.limit + 1]
            var objects = try Self.fetchSharedObjects(db, sql: sql, arguments: arguments)
            let more = objects.count > query.limit
            if more { objects.removeLast() }
            return SharedObjectPage(objects: objects, more: more)
        }
    }

    public func allSharedObjects(in collections: [String]) async throws -> [SharedObject] {
        guard !collections.isEmpty else { return [] }
        return try await pool.read { db in
            try Self.fetchSharedObjects(db, sql: """
                SELECT collection, id, version, type, date_added, revoked, json, added_by FROM stix_objects
                WHERE collection IN (\(collections.map { _ in "?" }.joined(separator: ","))) ORDER BY date_added
                """, arguments: StatementArguments(collections))
        }
    }

    private static func fetchSharedObjects(_ db: Database, sql: String, arguments: StatementArguments) throws -> [SharedObject] {
        try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            let json: Data = row[6]
            return SharedObject(collection: row[0], id: row[1], version: row[2], type: row[3], dateAdded: row[4],
                                revoked: row[5], json: Array(json), addedBy: row[7])
        }
    }

    public func sharedObjectCounts() async throws -> [String: Int] {
        try await pool.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT collection, COUNT(*) FROM stix_objects GROUP BY collection") {
                counts[row[0]] = row[1]
            }
            return counts
        }
    }

    public func recordTAXIIStatus(id: String, json: [UInt8], at time: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO taxii_status (id, at, json) VALUES (?, ?, ?)",
                           arguments: [id, time.millisecondsSinceEpoch, Data(json)])
        }
    }

    public func taxiiStatus(id: String) async throws -> [UInt8]? {
        try await pool.read { db in
            (try Data.fetchOne(db, sql: "SELECT json FROM taxii_status WHERE id = ?", arguments: [id])).map { Array($0) }
        }
    }

    public func recordSharingDecision(_ d: SharingDecision) async throws {
        let ids = String(decoding: (try? JSONEncoder().encode(d.objectIDs)) ?? Data("[]".utf8), as: UTF8.self)
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO sharing_decisions (at, campaign_id, stix_campaign_id, action, analyst, note, object_ids)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [d.at.millisecondsSinceEpoch, d.campaignID, d.stixCampaignID, d.action.rawValue, d.analyst, d.note, ids])
        }
    }

    public func sharingDecisions(campaignID: String?, limit: Int) async throws -> [SharingDecision] {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT at, campaign_id, stix_campaign_id, action, analyst, note, object_ids FROM sharing_decisions
                WHERE ? IS NULL OR campaign_id = ? ORDER BY id DESC LIMIT ?
                """, arguments: [campaignID, campaignID, limit])
            return rows.compactMap { row in
                guard let action = SharingDecision.Action(rawValue: row[3]) else { return nil }
                let ids = (try? JSONDecoder().decode([String].self, from: Data((row[6] as String).utf8))) ?? []
                return SharingDecision(at: Timestamp(millisecondsSinceEpoch: row[0]), campaignID: row[1], stixCampaignID: row[2],
                                       action: action, analyst: row[4], note: row[5], objectIDs: ids)
            }
        }
    }
}
