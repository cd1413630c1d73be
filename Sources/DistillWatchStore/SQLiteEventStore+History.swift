import DistillWatchCore
import Foundation
import GRDB

extension SQLiteEventStore: HistoryStore, HistoryAppending, HistoryProviding {
    public var historyStore: any HistoryStore { self }

    /// Adds a batch's hourly totals and sightings (inside the append's transaction).
    /// - Complexity: one upsert per account-hour, hour and sighting of the batch.
    static func writeActivity(_ db: Database, _ a: HourlyActivityLedger) throws {
        let accountHour = try db.cachedStatement(sql: """
            INSERT INTO account_hours (account_id, hour, exchanges, input_tokens, output_tokens, cost_micro_usd)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (account_id, hour) DO UPDATE SET
                exchanges = exchanges + excluded.exchanges, input_tokens = input_tokens + excluded.input_tokens,
                output_tokens = output_tokens + excluded.output_tokens, cost_micro_usd = cost_micro_usd + excluded.cost_micro_usd
            """)
        for (id, hours) in a.accounts {
            for t in hours.values {
                try accountHour.execute(arguments: [id, t.hour, t.exchanges, t.inputTokens, t.outputTokens, t.costMicroUSD])
            }
        }
        let trafficHour = try db.cachedStatement(sql: """
            INSERT INTO traffic_hours (hour, exchanges, input_tokens, output_tokens, cost_micro_usd) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (hour) DO UPDATE SET
                exchanges = exchanges + excluded.exchanges, input_tokens = input_tokens + excluded.input_tokens,
                output_tokens = output_tokens + excluded.output_tokens, cost_micro_usd = cost_micro_usd + excluded.cost_micro_usd
            """)
        for t in a.traffic.values {
            try trafficHour.execute(arguments: [t.hour, t.exchanges, t.inputTokens, t.outputTokens, t.costMicroUSD])
        }
        let sighting = try db.cachedStatement(sql: """
            INSERT INTO identifier_sightings (kind, value, account_id, first_seen, last_seen, exchanges) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (kind, value, account_id) DO UPDATE SET
                first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen),
                exchanges = exchanges + excluded.exchanges
            """)
        for s in a.sightings.values {
            try sighting.execute(arguments: [s.kind.rawValue, s.value, s.accountID, s.firstSeen.millisecondsSinceEpoch,
                                             s.lastSeen.millisecondsSinceEpoch, s.exchanges])
        }
    }

    static func totals(_ row: Row, hourColumn: Int = 0) -> HourlyTotals {
        HourlyTotals(hour: count(row, hourColumn), exchanges: Int(count(row, hourColumn + 1)), inputTokens: Int(count(row, hourColumn + 2)),
                     outputTokens: Int(count(row, hourColumn + 3)), costMicroUSD: count(row, hourColumn + 4))
    }

    /// An integer column, saturated: SQLite turns an integer sum that overflows into a
    /// REAL, which GRDB would refuse to read as an integer.
    static func count(_ row: Row, _ i: Int) -> Int64 {
        switch (row[i] as DatabaseValue).storage {
        case .int64(let v): return v
        case .double(let d): return d >= 9.2e18 ? .max : d <= -9.2e18 ? .min : Int64(d)
        default: return 0
        }
    }

    public func accountHours(_ accountID: String, in hours: Range<Int64>) async throws -> [HourlyTotals] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT hour, exchanges, input_tokens, output_tokens, cost_micro_usd FROM account_hours
                WHERE account_id = ? AND hour >= ? AND hour < ? ORDER BY hour
                """, arguments: [accountID, hours.lowerBound, hours.upperBound]).map { Self.totals($0) }
        }
    }

    public func summedHours(of accountIDs: [String], in hours: Range<Int64>) async throws -> [HourlyTotals] {
        let ids = Array(Set(accountIDs))
        guard !ids.isEmpty else { return [] }
        // Summed per hour by SQLite, for up to 8,192 accounts per statement (an IN list is
        // one ordered set of index seeks; SQLite takes up to 32,766 parameters).
        return try await pool.read { db in
            var sum: [Int64: HourlyTotals] = [:]
            var start = 0
            while start < ids.count {
                let chunk = ids[start..<min(ids.count, start + 8_192)]
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                var values: [any DatabaseValueConvertible] = chunk.map { $0 }
                values.append(hours.lowerBound)
                values.append(hours.upperBound)
                let arguments = StatementArguments(values.map { $0.databaseValue })
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT hour, TOTAL(exchanges), TOTAL(input_tokens), TOTAL(output_tokens), TOTAL(cost_micro_usd) FROM account_hours
                    WHERE account_id IN (\(marks)) AND hour >= ? AND hour < ? GROUP BY hour
                    """, arguments: arguments)
                while let row = try rows.next() {
                    let t = Self.totals(row)
                    sum[t.hour, default: HourlyTotals(hour: t.hour)].add(t)
                }
                start += chunk.count
            }
            return sum.values.sorted { $0.hour < $1.hour }
        }
    }

    public func trafficHours(in hours: Range<Int64>) async throws -> [HourlyTotals] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT hour, exchanges, input_tokens, output_tokens, cost_micro_usd FROM traffic_hours
                WHERE hour >= ? AND hour < ? ORDER BY hour
                """, arguments: [hours.lowerBound, hours.upperBound]).map { Self.totals($0) }
        }
    }

    public func periodTotals(in hours: Range<Int64>) async throws -> [String: HourlyTotals] {
        try await pool.read { db in
            var out: [String: HourlyTotals] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT account_id, TOTAL(exchanges), TOTAL(input_tokens), TOTAL(output_tokens), TOTAL(cost_micro_usd)
                FROM account_hours WHERE hour >= ? AND hour < ? GROUP BY account_id
                """, arguments: [hours.lowerBound, hours.upperBound])
            while let row = try rows.next() {
                out[row[0]] = HourlyTotals(hour: hours.lowerBound, exchanges: Int(Self.count(row, 1)), inputTokens: Int(Self.count(row, 2)),
                                           outputTokens: Int(Self.count(row, 3)), costMicroUSD: Self.count(row, 4))
            }
            return out
        }
    }

    static func sighting(_ row: Row) -> IdentifierSighting? {
        guard let kind = IdentifierSighting.Kind(rawValue: row[0]) else { return nil }
        return IdentifierSighting(kind: kind, value: row[1], accountID: row[2],
                                  firstSeen: Timestamp(millisecondsSinceEpoch: row[3]),
                                  lastSeen: Timestamp(millisecondsSinceEpoch: row[4]), exchanges: row[5])
    }

    public func sightings(matching query: String, prefix: Bool, limit: Int) async throws -> [IdentifierSighting] {
        try await pool.read { db in
            if prefix {
                // A range on the value index: [query, query + U+10FFFF).
                return try Row.fetchAll(db, sql: """
                    SELECT kind, value, account_id, first_seen, last_seen, exchanges FROM identifier_sightings
                    WHERE value >= ? AND value < ? ORDER BY exchanges DESC, value, account_id LIMIT ?
                    """, arguments: [query, query + "\u{10FFFF}", limit]).compactMap(Self.sighting)
            }
            return try Row.fetchAll(db, sql: """
                SELECT kind, value, account_id, first_seen, last_seen, exchanges FROM identifier_sightings
                WHERE value = ? ORDER BY exchanges DESC, account_id LIMIT ?
                """, arguments: [query, limit]).compactMap(Self.sighting)
        }
    }

    public func sightings(ofAccount accountID: String, limit: Int) async throws -> [IdentifierSighting] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT kind, value, account_id, first_seen, last_seen, exchanges FROM identifier_sightings
                WHERE account_id = ? ORDER BY exchanges DESC, value LIMIT ?
                """, arguments: [accountID, limit]).compactMap(Self.sighting)
        }
    }

    public func pruneHistory(beforeHour hour: Int64) async throws -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM account_hours WHERE hour < ?", arguments: [hour])
            var n = db.changesCount
            try db.execute(sql: "DELETE FROM traffic_hours WHERE hour < ?", arguments: [hour])
            n += db.changesCount
            try db.execute(sql: "DELETE FROM identifier_sightings WHERE last_seen < ?", arguments: [hour * 3_600_000])
            return n + db.changesCount
        }
    }

    public func addNote(_ note: AnalystNote) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO analyst_notes (subject_kind, subject, note, analyst, at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [note.subjectKind, note.subject, note.note, note.analyst, note.at.millisecondsSinceEpoch])
        }
    }

    static func note(_ row: Row) -> AnalystNote {
        AnalystNote(subjectKind: row[0], subject: row[1], note: row[2], analyst: row[3], at: Timestamp(millisecondsSinceEpoch: row[4]))
    }

    public func notes(subjectKind: String, subject: String, limit: Int) async throws -> [AnalystNote] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT subject_kind, subject, note, analyst, at FROM analyst_notes
                WHERE subject_kind = ? AND subject = ? ORDER BY id DESC LIMIT ?
                """, arguments: [subjectKind, subject, limit]).map(Self.note)
        }
    }

    public func recentNotes(limit: Int) async throws -> [AnalystNote] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT subject_kind, subject, note, analyst, at FROM analyst_notes ORDER BY id DESC LIMIT ?",
                             arguments: [limit]).map(Self.note)
        }
    }

    public func recentLabels(limit: Int) async throws -> [StoredEvent] {
        // Literal kinds (account and campaign labels, 3 and 4) so the partial index applies.
        assert(EventKind.accountLabel.rawValue == 3 && EventKind.campaignLabel.rawValue == 4)
        return try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT sequence, kind, subject, received_at, payload FROM events WHERE kind IN (3, 4)
                ORDER BY sequence DESC LIMIT ?
                """, arguments: [limit])
            return rows.compactMap { row in
                guard let kind = EventKind(rawValue: row[1]) else { return nil }
                return StoredEvent(sequence: row[0], kind: kind, subject: row[2],
                                   receivedAt: Timestamp(millisecondsSinceEpoch: row[3]), payload: [UInt8](row[4] as Data))
            }
        }
    }

    public func recordSignOff(_ s: StoredSignOff) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO screening_signoffs (period, account_id, disposition, note, analyst, at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [s.period, s.accountID, s.disposition, s.note, s.analyst, s.at.millisecondsSinceEpoch])
        }
    }

    public func signOffs(period: String) async throws -> [StoredSignOff] {
        try await pool.read { db in
            // SQLite: with MAX(), the bare columns come from the row holding the maximum.
            try Row.fetchAll(db, sql: """
                SELECT period, account_id, disposition, note, analyst, at, MAX(id) FROM screening_signoffs
                WHERE period = ? GROUP BY account_id ORDER BY account_id
                """, arguments: [period]).map {
                StoredSignOff(period: $0[0], accountID: $0[1], disposition: $0[2], note: $0[3], analyst: $0[4],
                              at: Timestamp(millisecondsSinceEpoch: $0[5]))
            }
        }
    }
}
