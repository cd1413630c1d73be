import DistillWatchCore
import Foundation
import Synchronization
import Testing
@testable import DistillWatchStore

/// A lane that runs each job on a new thread of its own and counts the jobs, to see which
/// of the store's writes go through it.
final class CountingLane: AppendLane {
    let jobs = Atomic<Int>(0)

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        jobs.add(1, ordering: .relaxed)
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.start()
        }
    }

    var count: Int { jobs.load(ordering: .relaxed) }

    let yieldPoints = Atomic<Int>(0)
    func yieldIfDue() { yieldPoints.add(1, ordering: .relaxed) }
    var rowsOffered: Int { yieldPoints.load(ordering: .relaxed) }
}

@Suite struct AppendLaneTests {
    /// The bulk writes that go on while ingest does (appends, audit entries, quarantine,
    /// compaction, history pruning) run on the store's lane, with the same results as on
    /// GRDB's own queue; a failing transaction's error comes back through it.
    @Test func bulkWritesRunOnTheLane() async throws {
        let dir = ScratchDirectory()
        let lane = CountingLane()
        let store = try SQLiteEventStore(path: dir.path + "/state.sqlite", appendLane: lane)
        var activity = HourlyActivityLedger()
        let exchange = Exchange(time: t0, accountID: "acct-1", model: "m", inputTokens: 10, outputTokens: 20)
        activity.record(exchange)
        let range = try await store.appendWithHistory(
            [event(.exchange, "acct-1", "{}"), event(.exchange, "acct-2", "{}"), event(.account, "acct-1", "{}")],
            activity: activity, served: [], at: t0)
        #expect(range == 1...3)
        #expect(lane.count == 1)
        #expect(lane.rowsOffered == 3)  // a yield point per row appended
        #expect(try await store.append([event(.exchange, "acct-3", "{}")], at: t0) == 4...4)
        #expect(lane.count == 2)

        let entry = DecisionAuditEntry(at: t0, accountID: "acct-1", verdict: .block, score: 0.9, reasons: ["volume"],
                                       endpoint: "decide", caller: "gw", requestID: "r1")
        try await store.recordDecisions([entry])
        #expect(lane.count == 3)
        #expect(lane.rowsOffered == 5)
        #expect(try await store.decisions(accountID: nil, limit: 5) == [entry])

        try await store.quarantine([QuarantineEntry(sequence: 2, reason: "test", at: t0)])
        #expect(lane.count == 4)
        // The mark, one batch of deletes, and the empty batch that ends the loop.
        let deleted = try await store.compact(through: 4)
        #expect(deleted == 3)  // 1, 3 and 4; 2 is quarantined
        #expect(lane.count == 7)
        #expect(try await store.events(after: 0, limit: 10).map(\.sequence) == [2])

        #expect(try await store.historyStore.pruneHistory(beforeHour: t0.hourIndex + 1) > 0)
        #expect(lane.count == 8)
    }
}
