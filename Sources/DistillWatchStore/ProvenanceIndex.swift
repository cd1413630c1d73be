import DistillWatchCore
import Foundation
import GRDB

/// One answer served, as provenance keeps it: who got it, when, and its keyed sketch.
public struct ServedResponse: Sendable, Equatable {
    /// Its row in the index (0 before it is stored).
    public var id: Int64
    public var at: Timestamp
    public var accountID: String
    public var requestID: String?
    public var model: String?
    public var sketch: ResponseSketch

    public init(id: Int64 = 0, at: Timestamp, accountID: String, requestID: String?, model: String?, sketch: ResponseSketch) {
        self.id = id
        self.at = at
        self.accountID = accountID
        self.requestID = requestID
        self.model = model
        self.sketch = sketch
    }
}

/// The served-response sketches of provenance (Documentation/Provenance.md), in SQLite: a
/// file of its own written by `distillwatch provenance index`, or the server's database
/// (store format 7), which keeps the same table.
///
/// One append-only table, `served_responses(id, at, account_id, request_id, model, sketch)`
/// with a 132-byte sketch per row and no secondary index: about 200 bytes a response on disk
/// (measured in Documentation/Provenance.md), read back in one sequential pass per check.
/// `provenance_meta` holds the content key's fingerprint, so that a check under another key
/// is refused instead of silently finding nothing.
public final class ProvenanceIndex: Sendable {
    public let path: String
    private let queue: DatabaseQueue

    /// The table and its metadata, created when missing.
    static let schema = """
        CREATE TABLE IF NOT EXISTS served_responses (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            account_id TEXT NOT NULL,
            request_id TEXT,
            model TEXT,
            sketch BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS provenance_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """

    /// Opens (`create`: or creates) an index file.
    /// - Throws: ``StoreError`` naming the file for one that cannot be opened, is not SQLite,
    ///   or (without `create`) has no served responses table.
    public init(path: String, create: Bool) throws {
        self.path = path
        if !create, !FileManager.default.fileExists(atPath: path) {
            throw StoreError("\(path): no such provenance index (make one with distillwatch provenance index)")
        }
        var configuration = Configuration()
        configuration.readonly = !create
        configuration.busyMode = .timeout(5)
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            if create {
                // The journal mode cannot change inside a transaction (SQLite refuses it
                // once the file exists: a second `provenance index` run failed), so first.
                try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
                try queue.write { db in try db.execute(sql: Self.schema) }
            } else {
                // A server's database has the table even when it kept no response: an empty
                // table is no index to check against (every record would read "not found").
                let exists = try queue.read { db in
                    try db.tableExists("served_responses")
                        && (try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM served_responses)") ?? false)
                }
                guard exists else {
                    throw StoreError("\(path): holds no served responses (not a provenance index, nor a database written with response text)")
                }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError("\(path): cannot open the provenance index: \(error)")
        }
    }

    /// The fingerprint of the content key the sketches were made with, if recorded.
    public func keyFingerprint() throws -> String? {
        try queue.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM provenance_meta WHERE key = 'key_fingerprint'")
        }
    }

    /// Records the key's fingerprint.
    /// - Throws: ``StoreError`` when the index was made under another key.
    public func bind(to key: ContentKey) throws {
        let path = self.path
        try queue.write { db in
            try Self.bind(key, in: db) { held, fingerprint in
                "\(path): the index was made under another content key (fingerprint \(held), this key \(fingerprint))"
            }
        }
    }

    /// Records `key`'s fingerprint in `provenance_meta`, or checks it against the one there.
    /// - Throws: ``StoreError`` with `mismatch(held, this key's)` when they differ.
    static func bind(_ key: ContentKey, in db: Database, mismatch: (String, String) -> String) throws {
        let fingerprint = fingerprint(key)
        if let held = try String.fetchOne(db, sql: "SELECT value FROM provenance_meta WHERE key = 'key_fingerprint'") {
            guard held == fingerprint else { throw StoreError(mismatch(held, fingerprint)) }
        } else {
            try db.execute(sql: "INSERT INTO provenance_meta (key, value) VALUES ('key_fingerprint', ?)", arguments: [fingerprint])
        }
    }

    /// A public fingerprint of a content key: 16 hex digits of its PRF on a fixed input (it
    /// names the key without revealing it).
    public static func fingerprint(_ key: ContentKey) -> String {
        String(key.prf(0x5052_4F56_454E_414E), radix: 16)
    }

    /// Appends responses in one transaction.
    /// - Complexity: O(n) appends at the end of the table.
    public func append(_ responses: [ServedResponse]) throws {
        guard !responses.isEmpty else { return }
        try queue.write { db in try Self.insert(responses, into: db) }
    }

    static func insert(_ responses: [ServedResponse], into db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO served_responses (at, account_id, request_id, model, sketch) VALUES (?, ?, ?, ?, ?)
            """)
        for r in responses {
            try statement.execute(arguments: [r.at.millisecondsSinceEpoch, r.accountID, r.requestID, r.model, Data(r.sketch.bytes)])
        }
    }

    /// Responses stored, and the first and last time among them.
    public func summary() throws -> (count: Int, first: Timestamp?, last: Timestamp?) {
        try queue.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), MIN(at), MAX(at) FROM served_responses")
            let count: Int = row?[0] ?? 0
            let first: Int64? = row?[1]
            let last: Int64? = row?[2]
            return (count, first.map(Timestamp.init(millisecondsSinceEpoch:)), last.map(Timestamp.init(millisecondsSinceEpoch:)))
        }
    }

    /// Hands every stored sketch to `body` in storage order, one row at a time (constant
    /// memory), with its id; rows whose sketch is damaged are counted, not handed over.
    /// - Returns: rows skipped as damaged.
    /// - Complexity: O(rows), one sequential read.
    @discardableResult
    public func forEachSketch(_ body: (Int64, ResponseSketch) throws -> Void) throws -> Int {
        try queue.read { db in
            var damaged = 0
            let rows = try Row.fetchCursor(db, sql: "SELECT id, sketch FROM served_responses ORDER BY id")
            while let row = try rows.next() {
                let id: Int64 = row[0]
                guard let data: Data = row[1], let sketch = ResponseSketch(bytes: data) else {
                    damaged += 1
                    continue
                }
                try body(id, sketch)
            }
            return damaged
        }
    }

    /// The stored responses with these ids (for the ones that matched).
    public func responses(ids: some Sequence<Int64>) throws -> [Int64: ServedResponse] {
        let list = Array(Set(ids)).sorted()
        var out: [Int64: ServedResponse] = [:]
        try queue.read { db in
            for chunk in stride(from: 0, to: list.count, by: 500) {
                let part = Array(list[chunk..<min(list.count, chunk + 500)])
                let marks = part.map { _ in "?" }.joined(separator: ",")
                let rows = try Row.fetchAll(db, sql: "SELECT id, at, account_id, request_id, model, sketch FROM served_responses WHERE id IN (\(marks))",
                                            arguments: StatementArguments(part))
                for row in rows {
                    let data: Data = row[5]
                    guard let sketch = ResponseSketch(bytes: data) else { continue }
                    let id: Int64 = row[0]
                    out[id] = ServedResponse(id: id, at: Timestamp(millisecondsSinceEpoch: row[1]), accountID: row[2],
                                             requestID: row[3], model: row[4], sketch: sketch)
                }
            }
        }
        return out
    }

    public func close() throws {
        try queue.close()
    }
}
