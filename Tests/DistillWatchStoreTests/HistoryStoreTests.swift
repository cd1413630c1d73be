import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchStore

/// The console's history: hourly totals written with the events, read back summed,
/// surviving a reopen, pruned by age; sightings by exact value and prefix; notes and
/// screening sign-offs (latest per account wins, every one kept).
@Suite struct HistoryStoreTests {
    func exchange(_ account: String, _ minutes: Double, ip: String = "198.51.100.7", key: String? = "k1", out: Int = 10, cost: Double? = 0.25) -> Exchange {
        var e = Exchange(time: t0.adding(seconds: minutes * 60), accountID: account)
        e.clientIP = ip
        e.apiKeyID = key
        e.outputTokens = out
        e.inputTokens = 3
        e.costUSD = cost
        return e
    }

    func ledger(_ exchanges: [Exchange]) -> HourlyActivityLedger {
        var l = HourlyActivityLedger()
        for e in exchanges { l.record(e) }
        return l
    }

    func history(_ store: any EventStore) throws -> any HistoryStore {
        try #require((store as? any HistoryProviding)?.historyStore)
    }

    @Test(arguments: StoreKind.allCases)
    func hourlyTotalsAreWrittenWithTheEventsAndSummed(_ kind: StoreKind) async throws {
        let dir = ScratchDirectory()
        let store = try makeStore(kind, in: dir)
        let batch1 = [exchange("a", 1), exchange("a", 61), exchange("b", 2, ip: "198.51.100.9", key: nil, cost: nil)]
        let batch2 = [exchange("a", 62, cost: .infinity), exchange("b", 125, out: -5)]
        _ = try await store.append(batch1.map { event(.exchange, $0.accountID, "{}") }, activity: ledger(batch1), at: t0)
        _ = try await store.append(batch2.map { event(.exchange, $0.accountID, "{}") }, activity: ledger(batch2), at: t0)
        let h = try history(store)
        let all = Int64.min..<Int64.max
        let a = try await h.accountHours("a", in: all)
        #expect(a.map(\.hour) == [t0.hourIndex, t0.hourIndex + 1])
        #expect(a.map(\.exchanges) == [1, 2] && a.map(\.outputTokens) == [10, 20])
        // Cost: a missing, negative or infinite cost counts as zero; sums are exact micro-dollars.
        #expect(a.map(\.costMicroUSD) == [250_000, 250_000])
        let summed = try await h.summedHours(of: ["a", "b", "b", "nobody"], in: all)
        #expect(summed.map(\.exchanges) == [2, 2, 1] && summed.map(\.outputTokens) == [20, 20, 0])
        #expect(try await h.trafficHours(in: all).map(\.exchanges) == [2, 2, 1])
        let period = try await h.periodTotals(in: t0.hourIndex..<(t0.hourIndex + 2))
        #expect(period["a"]?.exchanges == 3 && period["b"]?.exchanges == 1 && period.count == 2)
        // Sightings: exact, prefix, by account.
        #expect(try await h.sightings(matching: "198.51.100.7", prefix: false, limit: 10).map(\.accountID) == ["a", "b"], "most exchanges first")
        #expect(try await h.sightings(matching: "198.51.100.9", prefix: false, limit: 10).map(\.accountID) == ["b"])
        #expect(Set(try await h.sightings(matching: "198.51.100.", prefix: true, limit: 10).map(\.accountID)) == ["a", "b"])
        let aSightings = try await h.sightings(ofAccount: "a", limit: 10)
        #expect(aSightings.count == 2 && aSightings.first?.exchanges == 3)
        #expect(aSightings.first { $0.kind == .clientAddress }?.lastSeen == t0.adding(seconds: 62 * 60))
        // Pruning drops hours before the cut and sightings last seen before it.
        #expect(try await h.pruneHistory(beforeHour: t0.hourIndex + 1) > 0)
        #expect(try await h.accountHours("a", in: all).map(\.hour) == [t0.hourIndex + 1])
        #expect(try await h.trafficHours(in: all).count == 2)
    }

    @Test func historySurvivesAReopenAndIsNotWrittenByReplay() async throws {
        let dir = ScratchDirectory()
        let path = dir.path + "/state.sqlite"
        do {
            let store = try SQLiteEventStore(path: path)
            let batch = (0..<100).map { exchange("acct-\($0 % 7)", Double($0)) }
            _ = try await store.append(batch.map { event(.exchange, $0.accountID, "{}") }, activity: ledger(batch), at: t0)
            // A plain append (what a replay never does anyway) adds no history.
            _ = try await store.append([event(.flush, nil, "")], at: t0)
            try await store.close()
        }
        let reopened = try SQLiteEventStore(path: path)
        let h = reopened.historyStore
        #expect(try await h.trafficHours(in: Int64.min..<Int64.max).map(\.exchanges).reduce(0, +) == 100)
        #expect(try await h.periodTotals(in: Int64.min..<Int64.max).count == 7)
        try await reopened.close()
    }

    @Test(arguments: StoreKind.allCases)
    func notesAndSignOffsAreKeptNewestFirst(_ kind: StoreKind) async throws {
        let dir = ScratchDirectory()
        let store = try makeStore(kind, in: dir)
        let h = try history(store)
        try await h.addNote(AnalystNote(subjectKind: "campaign", subject: "campaign-1", note: "first", analyst: "alice", at: t0))
        try await h.addNote(AnalystNote(subjectKind: "campaign", subject: "campaign-1", note: "second", analyst: "bob", at: t0.adding(seconds: 1)))
        try await h.addNote(AnalystNote(subjectKind: "account", subject: "a", note: "other", analyst: nil, at: t0))
        #expect(try await h.notes(subjectKind: "campaign", subject: "campaign-1", limit: 10).map(\.note) == ["second", "first"])
        #expect(try await h.recentNotes(limit: 2).count == 2)
        let period = "2026-03-01T00:00:00.000Z/2026-04-01T00:00:00.000Z"
        try await h.recordSignOff(StoredSignOff(period: period, accountID: "a", disposition: "monitor", note: nil, analyst: "alice", at: t0))
        try await h.recordSignOff(StoredSignOff(period: period, accountID: "a", disposition: "restricted", note: "capped", analyst: "bob", at: t0.adding(seconds: 5)))
        try await h.recordSignOff(StoredSignOff(period: "other", accountID: "b", disposition: "monitor", note: nil, analyst: nil, at: t0))
        let latest = try await h.signOffs(period: period)
        #expect(latest.map(\.accountID) == ["a"] && latest.first?.disposition == "restricted" && latest.first?.analyst == "bob")
    }
}
