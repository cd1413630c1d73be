import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchStore

/// The same contract, checked against both implementations.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case memory, sqlite
    var testDescription: String { rawValue }
}

final class ScratchDirectory {
    let path = NSTemporaryDirectory() + "distillwatch-store-" + UUID().uuidString
    init() { try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

func makeStore(_ kind: StoreKind, in dir: ScratchDirectory) throws -> any EventStore {
    switch kind {
    case .memory: return InMemoryEventStore()
    case .sqlite: return try SQLiteEventStore(path: dir.path + "/state.sqlite")
    }
}

func event(_ kind: EventKind, _ subject: String?, _ text: String) -> NewEvent {
    NewEvent(kind: kind, subject: subject, payload: Array(text.utf8))
}

let t0 = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!

@Suite struct EventStoreTests {
    @Test(arguments: StoreKind.allCases)
    func appendsInOneSequenceAndReadsBackInOrder(_ kind: StoreKind) async throws {
        let dir = ScratchDirectory()
        let store = try makeStore(kind, in: dir)
        #expect(try await store.append([], at: t0) == nil)
        let first = try await store.append([event(.exchange, "a", #"{"x":1}"#), event(.account, "a", #"{"y":2}"#)], at: t0)
        #expect(first == 1...2)
        let second = try await store.append([event(.flush, nil, ""), event(.exchange, "b", "héllo")], at: t0.adding(seconds: 1))
        #expect(second == 3...4)
        let all = try await store.events(after: 0, limit: 100)
        #expect(all.map(\.sequence) == [1, 2, 3, 4])
        #expect(all.map(\.kind) == [.exchange, .account, .flush, .exchange])
        #expect(all[3].payload == Array("héllo".utf8))
        #expect(all[2].subject == nil)
        #expect(all[3].receivedAt == t0.adding(seconds: 1))
        let page = try await store.events(after: 1, limit: 2)
        #expect(page.map(\.sequence) == [2, 3])
        let counts = try await store.eventCounts()
        #expect(counts.total == 4 && counts.lastSequence == 4 && counts[.exchange] == 2 && counts[.flush] == 1)
        try await store.close()
    }

    @Test(arguments: StoreKind.allCases)
    func listsLabelsBySubjectAndKind(_ kind: StoreKind) async throws {
        let dir = ScratchDirectory()
        let store = try makeStore(kind, in: dir)
        let label = LabelEvent(label: .legitimate, note: "a university lab", analyst: "alice", at: t0)
        let payload = Array(try JSONEncoder().encode(label))
        _ = try await store.append([
            event(.exchange, "acct-1", "{}"),
            NewEvent(kind: .accountLabel, subject: "acct-1", payload: payload),
            NewEvent(kind: .accountLabel, subject: "acct-2", payload: payload),
            NewEvent(kind: .campaignLabel, subject: "acct-1", payload: payload),
        ], at: t0)
        let labels = try await store.labels(subject: "acct-1", kind: .accountLabel)
        #expect(labels.map(\.sequence) == [2])
        #expect(try JSONDecoder().decode(LabelEvent.self, from: Data(labels[0].payload)) == label)
        #expect(try await store.labels(subject: "acct-1", kind: .campaignLabel).map(\.sequence) == [4])
    }

    @Test(arguments: StoreKind.allCases)
    func keepsTheDecisionAuditLogNewestFirst(_ kind: StoreKind) async throws {
        let dir = ScratchDirectory()
        let store = try makeStore(kind, in: dir)
        var entries: [DecisionAuditEntry] = []
        for i in 0..<10 {
            entries.append(DecisionAuditEntry(at: t0.adding(seconds: Double(i)), accountID: i % 2 == 0 ? "even" : "odd",
                                              verdict: i == 9 ? .block : .allow, score: Double(i) / 10,
                                              reasons: i == 9 ? ["volume", "timing_regularity"] : [],
                                              endpoint: "decide", caller: "gw", requestID: "r\(i)"))
        }
        try await store.recordDecisions(entries)
        let latest = try await store.decisions(accountID: nil, limit: 3)
        #expect(latest.map(\.requestID) == ["r9", "r8", "r7"])
        #expect(latest[0] == entries[9])
        let odd = try await store.decisions(accountID: "odd", limit: 100)
        #expect(odd.count == 5 && odd.allSatisfy { $0.accountID == "odd" })
    }

    /// A reason may hold commas (an unidentified LiteLLM call lists the fields it tried):
    /// it reads back whole, not split (found by a fresh-user walk-through).
    @Test(arguments: StoreKind.allCases)
    func reasonsWithCommasReadBackWhole(_ kind: StoreKind) async throws {
        let dir = ScratchDirectory()
        let store = try makeStore(kind, in: dir)
        let entry = DecisionAuditEntry(at: t0, accountID: "", verdict: .allow, score: 0,
                                       reasons: ["unidentified: names no account (org_id absent, team_id absent)", "b\"[,]"],
                                       endpoint: "litellm", caller: "gw", requestID: "c2")
        try await store.recordDecisions([entry])
        #expect(try await store.decisions(accountID: nil, limit: 1) == [entry])
    }

    @Test func sqliteStateSurvivesReopening() async throws {
        let dir = ScratchDirectory()
        let path = dir.path + "/state.sqlite"
        do {
            let store = try SQLiteEventStore(path: path, synchronous: .normal)
            _ = try await store.append((0..<1000).map { event(.exchange, "a\($0 % 7)", #"{"n":\#($0)}"#) }, at: t0)
            try await store.close()
        }
        let reopened = try SQLiteEventStore(path: path)
        let counts = try await reopened.eventCounts()
        #expect(counts.total == 1000 && counts.lastSequence == 1000)
        let tail = try await reopened.events(after: 998, limit: 10)
        #expect(tail.map { String(decoding: $0.payload, as: UTF8.self) } == [#"{"n":998}"#, #"{"n":999}"#])
        #expect(try await reopened.append([event(.flush, nil, "")], at: t0) == 1001...1001)
    }

    @Test func sqliteRunsInWALMode() async throws {
        let dir = ScratchDirectory()
        let path = dir.path + "/state.sqlite"
        let store = try SQLiteEventStore(path: path)
        _ = try await store.append([event(.flush, nil, "")], at: t0)
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }

    /// An event of a kind this version does not know is read as `.unknown` (replay
    /// quarantines it), never a stop; a page damaged under the log is an error naming the
    /// file and what to do.
    @Test func unknownKindsAreReadAndDamagedPagesNamed() async throws {
        let dir = ScratchDirectory()
        let path = dir.path + "/state.sqlite"
        do {
            let store = try SQLiteEventStore(path: path, synchronous: .normal)
            let filler = String(repeating: "x", count: 300)
            _ = try await store.append((0..<4_000).map { event(.exchange, "a", #"{"n":\#($0),"f":"\#(filler)"}"#) }, at: t0)
            try await store.pool.write { try $0.execute(sql: "UPDATE events SET kind = 99 WHERE sequence = 2") }
            let read = try await store.events(after: 0, limit: 3)
            #expect(read.map(\.kind) == [.exchange, .unknown, .exchange])
            try await store.close()
        }
        // Damage the middle half of the file, past the header page.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var state: UInt64 = 7
        for i in (bytes.count / 4)..<(bytes.count * 3 / 4) {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let damaged = try SQLiteEventStore(path: path)
        await #expect(performing: { _ = try await damaged.events(after: 0, limit: 10_000) }, throws: { error in
            let text = "\(error)"
            return text.contains(path) && text.contains("the event log is damaged") && text.contains(".recover")
        })
    }

    @Test func aFileThatIsNotADatabaseIsAClearError() throws {
        let dir = ScratchDirectory()
        let path = dir.path + "/not-a-db.sqlite"
        precondition(FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x41, count: 4096)), "cannot create a test file")
        #expect {
            try SQLiteEventStore(path: path)
        } throws: { error in
            (error as? StoreError)?.description.contains(path) == true
        }
    }
}
