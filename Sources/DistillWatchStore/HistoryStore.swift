import DistillWatchCore
import Synchronization

/// An analyst's note on an account or a campaign (no verdict change; kept beside labels).
public struct AnalystNote: Sendable, Equatable {
    public var subjectKind: String
    public var subject: String
    public var note: String
    public var analyst: String?
    public var at: Timestamp

    public init(subjectKind: String, subject: String, note: String, analyst: String?, at: Timestamp) {
        self.subjectKind = subjectKind
        self.subject = subject
        self.note = note
        self.analyst = analyst
        self.at = at
    }
}

/// A screening disposition as stored: the latest for an account and period wins; every
/// one is kept (the sign-off trail).
public struct StoredSignOff: Sendable, Equatable {
    public var period: String
    public var accountID: String
    public var disposition: String
    public var note: String?
    public var analyst: String?
    public var at: Timestamp

    public init(period: String, accountID: String, disposition: String, note: String?, analyst: String?, at: Timestamp) {
        self.period = period
        self.accountID = accountID
        self.disposition = disposition
        self.note = note
        self.analyst = analyst
        self.at = at
    }
}

/// The history the console and the screening report read, beyond the engine's 24-hour
/// window (Documentation/Console.md, "History"):
///
/// - `account_hours`: per account and hour, exchanges, input and output tokens, spend
///   (about 40 bytes per active account-hour in SQLite);
/// - `traffic_hours`: the same for all traffic;
/// - `identifier_sightings`: which accounts used which client address or API key, when;
/// - `analyst_notes` and `screening_signoffs`.
///
/// Hourly rows are written in the same transaction as the exchanges they count
/// (``EventStore/append(_:activity:at:)``), so a replayed log never counts twice and a
/// crash never loses one side. Kept for the retention the server configures
/// (`history_retention_days`); ``pruneHistory(beforeHour:)`` drops older hours.
public protocol HistoryStore: Sendable {
    /// One account's hours in `hours` (hours since the epoch), in time order.
    func accountHours(_ accountID: String, in hours: Range<Int64>) async throws -> [HourlyTotals]
    /// Several accounts' hours summed per hour, in time order.
    /// - Complexity: O(Σ stored hours of the accounts).
    func summedHours(of accountIDs: [String], in hours: Range<Int64>) async throws -> [HourlyTotals]
    /// All traffic per hour, in time order.
    func trafficHours(in hours: Range<Int64>) async throws -> [HourlyTotals]
    /// Each account's totals over `hours`.
    func periodTotals(in hours: Range<Int64>) async throws -> [String: HourlyTotals]
    /// Sightings whose value equals `query` or starts with it (when `prefix`), most
    /// exchanges first.
    func sightings(matching query: String, prefix: Bool, limit: Int) async throws -> [IdentifierSighting]
    func sightings(ofAccount accountID: String, limit: Int) async throws -> [IdentifierSighting]
    /// Deletes hours before `hour` and sightings last seen before it.
    /// - Returns: rows deleted.
    func pruneHistory(beforeHour hour: Int64) async throws -> Int
    func addNote(_ note: AnalystNote) async throws
    /// Notes on one subject, newest first.
    func notes(subjectKind: String, subject: String, limit: Int) async throws -> [AnalystNote]
    /// The newest notes on any subject.
    func recentNotes(limit: Int) async throws -> [AnalystNote]
    /// The newest label events (account and campaign), newest first.
    func recentLabels(limit: Int) async throws -> [StoredEvent]
    func recordSignOff(_ signOff: StoredSignOff) async throws
    /// The latest sign-off per account for `period`.
    func signOffs(period: String) async throws -> [StoredSignOff]
}

/// ``HistoryStore`` in memory (tests, `--database :memory:`).
public final class InMemoryHistoryStore: HistoryStore {
    private struct State {
        var accounts: [String: [Int64: HourlyTotals]] = [:]
        var traffic: [Int64: HourlyTotals] = [:]
        var sightings: [IdentifierSighting.Key: IdentifierSighting] = [:]
        var notes: [AnalystNote] = []
        var signOffs: [StoredSignOff] = []
    }

    private let state = Mutex(State())
    /// Label events come from the event store that owns this history.
    private let labelSource = Mutex<@Sendable (Int) -> [StoredEvent]>({ _ in [] })

    public init() {}

    func setLabelSource(_ source: @escaping @Sendable (Int) -> [StoredEvent]) {
        labelSource.withLock { $0 = source }
    }

    public func record(_ ledger: HourlyActivityLedger) {
        state.withLock { s in
            for (id, hours) in ledger.accounts {
                for (h, t) in hours { s.accounts[id, default: [:]][h, default: HourlyTotals(hour: h)].add(t) }
            }
            for (h, t) in ledger.traffic { s.traffic[h, default: HourlyTotals(hour: h)].add(t) }
            for (k, v) in ledger.sightings {
                if var old = s.sightings[k] {
                    old.firstSeen = min(old.firstSeen, v.firstSeen)
                    old.lastSeen = max(old.lastSeen, v.lastSeen)
                    old.exchanges += v.exchanges
                    s.sightings[k] = old
                } else {
                    s.sightings[k] = v
                }
            }
        }
    }

    public func accountHours(_ accountID: String, in hours: Range<Int64>) async throws -> [HourlyTotals] {
        state.withLock { s in (s.accounts[accountID] ?? [:]).values.filter { hours.contains($0.hour) }.sorted { $0.hour < $1.hour } }
    }

    public func summedHours(of accountIDs: [String], in hours: Range<Int64>) async throws -> [HourlyTotals] {
        state.withLock { s in
            var sum: [Int64: HourlyTotals] = [:]
            for id in Set(accountIDs) {
                for t in (s.accounts[id] ?? [:]).values where hours.contains(t.hour) { sum[t.hour, default: HourlyTotals(hour: t.hour)].add(t) }
            }
            return sum.values.sorted { $0.hour < $1.hour }
        }
    }

    public func trafficHours(in hours: Range<Int64>) async throws -> [HourlyTotals] {
        state.withLock { s in s.traffic.values.filter { hours.contains($0.hour) }.sorted { $0.hour < $1.hour } }
    }

    public func periodTotals(in hours: Range<Int64>) async throws -> [String: HourlyTotals] {
        state.withLock { s in
            var out: [String: HourlyTotals] = [:]
            for (id, byHour) in s.accounts {
                var sum = HourlyTotals(hour: hours.lowerBound)
                var any = false
                for (h, t) in byHour where hours.contains(h) { sum.add(t); any = true }
                if any { out[id] = sum }
            }
            return out
        }
    }

    public func sightings(matching query: String, prefix: Bool, limit: Int) async throws -> [IdentifierSighting] {
        state.withLock { s in
            Array(s.sightings.values.filter { prefix ? $0.value.hasPrefix(query) : $0.value == query }
                .sorted { $0.exchanges != $1.exchanges ? $0.exchanges > $1.exchanges : ($0.value, $0.accountID) < ($1.value, $1.accountID) }
                .prefix(limit))
        }
    }

    public func sightings(ofAccount accountID: String, limit: Int) async throws -> [IdentifierSighting] {
        state.withLock { s in
            Array(s.sightings.values.filter { $0.accountID == accountID }
                .sorted { $0.exchanges != $1.exchanges ? $0.exchanges > $1.exchanges : $0.value < $1.value }.prefix(limit))
        }
    }

    public func pruneHistory(beforeHour hour: Int64) async throws -> Int {
        state.withLock { s in
            var n = 0
            for id in Array(s.accounts.keys) {
                let before = s.accounts[id]!.count
                s.accounts[id] = s.accounts[id]!.filter { $0.key >= hour }
                n += before - s.accounts[id]!.count
                if s.accounts[id]!.isEmpty { s.accounts[id] = nil }
            }
            let t = s.traffic.count
            s.traffic = s.traffic.filter { $0.key >= hour }
            n += t - s.traffic.count
            let cutoff = hour * 3_600_000
            let k = s.sightings.count
            s.sightings = s.sightings.filter { $0.value.lastSeen.millisecondsSinceEpoch >= cutoff }
            return n + k - s.sightings.count
        }
    }

    public func addNote(_ note: AnalystNote) async throws { state.withLock { $0.notes.append(note) } }

    public func notes(subjectKind: String, subject: String, limit: Int) async throws -> [AnalystNote] {
        state.withLock { s in Array(s.notes.reversed().filter { $0.subjectKind == subjectKind && $0.subject == subject }.prefix(limit)) }
    }

    public func recentNotes(limit: Int) async throws -> [AnalystNote] {
        state.withLock { s in Array(s.notes.reversed().prefix(limit)) }
    }

    public func recentLabels(limit: Int) async throws -> [StoredEvent] { labelSource.withLock { $0 }(limit) }

    public func recordSignOff(_ signOff: StoredSignOff) async throws { state.withLock { $0.signOffs.append(signOff) } }

    public func signOffs(period: String) async throws -> [StoredSignOff] {
        state.withLock { s in
            var latest: [String: StoredSignOff] = [:]
            for o in s.signOffs where o.period == period { latest[o.accountID] = o }
            return latest.values.sorted { $0.accountID < $1.accountID }
        }
    }
}

extension EventStore {
    /// Appends `events` and, in the same transaction where the store keeps history, the
    /// hourly totals and sightings of the exchanges among them. Stores without history
    /// append the events only.
    /// `served`: the answers among the exchanges, as provenance sketches
    /// (Documentation/Provenance.md), written in the same transaction by stores that keep
    /// them.
    public func append(_ events: [NewEvent], activity: HourlyActivityLedger, served: [ServedResponse] = [],
                       at time: Timestamp) async throws -> ClosedRange<Int64>? {
        if let s = self as? any HistoryAppending {
            return try await s.appendWithHistory(events, activity: activity, served: served, at: time)
        }
        return try await append(events, at: time)
    }
}

/// A store that writes history (and served-answer sketches) in the transaction that appends
/// events.
public protocol HistoryAppending: Sendable {
    func appendWithHistory(_ events: [NewEvent], activity: HourlyActivityLedger, served: [ServedResponse],
                           at time: Timestamp) async throws -> ClosedRange<Int64>?
}

/// A store that keeps the console's history.
public protocol HistoryProviding: Sendable {
    var historyStore: any HistoryStore { get }
}
