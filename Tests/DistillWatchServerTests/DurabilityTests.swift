import DistillWatchCore
import DistillWatchStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
@testable import DistillWatchServer

/// Snapshots, log compaction, storage faults and the memory bounds
/// (Documentation/Server.md, "Durability").
@Suite struct DurabilityTests {
    static func configuration(_ dir: ScratchDirectory, tolerance: Double = 0) -> ServerConfiguration {
        var c = testConfiguration(toleranceSeconds: tolerance)
        c.database = dir.path + "/state.sqlite"
        return c
    }

    /// NDJSON exchanges of `accounts` accounts, `perAccount` each, a minute apart, from
    /// `start` minutes after the test epoch; a third of the accounts share a proxy pool
    /// and a parameter fingerprint (a campaign), and every exchange names an API key.
    static func traffic(accounts: Int, perAccount: Int, startMinute: Int = 0) -> String {
        var lines: [String] = []
        for m in 0..<perAccount {
            for a in 0..<accounts {
                let t = testStart.adding(seconds: Double((startMinute + m) * 60 + a % 60))
                let campaign = a % 3 == 0
                let ip = campaign ? "100.64.\(m % 9).\((a + m) % 250)" : "198.51.\(a % 200).\(a % 250)"
                lines.append("""
                    {"time":"\(t.rfc3339)","account_id":"acct-\(a)","request_id":"r-\(a)-\(startMinute + m)","api_key_id":"key-\(a % 5)",\
                    "model":"model-a","output_tokens":\(campaign ? 3000 : 300),"max_tokens":\(campaign ? 16000 : 1024),\
                    "thinking":\(campaign),"tool_count":\(campaign ? 6 : 0),"message_count":1,"client_ip":"\(ip)",\
                    "asn":\(campaign ? 64_500 + m % 9 : 7_000 + a % 50),"country":"\(campaign ? "BR" : "US")","user_agent":"\(campaign ? "python-httpx/0.27" : "app/1.\(a % 7)")"}
                    """)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Runs `body` against a server on `configuration` (router mode), with its state.
    static func withState<T: Sendable>(_ configuration: ServerConfiguration, store: (any EventStore)? = nil,
                                       _ body: @Sendable (ServerState, any TestClientProtocol) async throws -> T) async throws -> T {
        let (clock, _) = WallClock.manual(testStart)
        let (router, state) = try await assembleServer(configuration, store: store, clock: clock, logger: quietLogger)
        let app = Application(router: router)
        let result = try await app.test(.router) { client in try await body(state, client) }
        try await state.store.close()
        return result
    }

    /// The full report without its generation time, as canonical JSON (sorted keys).
    static func report(_ client: any TestClientProtocol) async throws -> String {
        var report = try await client.get("/v1/report?all=true", Secret.analyst).json
        report["generated_at"] = nil
        return String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self)
    }

    static func same(_ a: String, _ b: String) -> Bool { a == b }

    @Test func aRestartLoadsTheSnapshotReplaysOnlyTheTailAndEndsWhereTheServerWas() async throws {
        let dir = ScratchDirectory()
        let c = Self.configuration(dir, tolerance: 300)
        let before: String = try await Self.withState(c) { state, client in
            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 60, perAccount: 20)).status == .ok)
            let snapshot = try await client.post("/v1/snapshot", Secret.analyst, "")
            #expect(snapshot.status == .ok, "\(snapshot.text)")
            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 60, perAccount: 10, startMinute: 20)).status == .ok)
            #expect(try await client.post("/v1/accounts/acct-4/label", Secret.analyst, #"{"label":"legitimate"}"#).status == .ok)
            return try await Self.report(client)
        }
        #expect(before.contains("\"campaigns\":[{"), "the traffic should form a campaign")
        try await Self.withState(c) { state, client in
            #expect(state.restart.snapshotSequence == 1_200)
            #expect(state.restart.replayedEvents == 601, "600 exchanges and a label after the snapshot")
            let after = try await Self.report(client)
            #expect(Self.same(before, after), "the restarted server's report differs")
            let status = try await client.get("/v1/status", Secret.analyst).json
            #expect((status["restart"] as? [String: Any])?["replayed_events"] as? Int == 601)
        }
    }

    @Test func aDamagedOrForeignSnapshotIsPassedOverWithAWarning() async throws {
        let dir = ScratchDirectory()
        var c = Self.configuration(dir)
        c.logRetention = .keep
        let before: String = try await Self.withState(c) { _, client in
            _ = try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 30, perAccount: 10))
            #expect(try await client.post("/v1/snapshot", Secret.analyst, "").status == .ok)
            _ = try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 30, perAccount: 10, startMinute: 10))
            #expect(try await client.post("/v1/snapshot", Secret.analyst, "").status == .ok)
            return try await Self.report(client)
        }
        let snapshots = try SnapshotDirectory(path: c.database + ".snapshots")
        let newest = try #require(snapshots.list().first)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: newest.path))
        bytes[bytes.count / 2] ^= 0x5A
        try bytes.write(to: URL(fileURLWithPath: newest.path))
        try await Self.withState(c) { state, client in
            #expect(state.restart.warnings.count == 1)
            #expect(state.restart.warnings.first?.contains("the payload is damaged (CRC-32 mismatch)") == true, "\(state.restart.warnings)")
            #expect(state.restart.snapshotSequence == 300, "the older snapshot, then its tail")
            #expect(state.restart.replayedEvents == 300)
            let after = try await Self.report(client)
            #expect(Self.same(before, after))
        }
        // Under another policy, with the whole log still there: a full replay, with a warning.
        var changed = c
        changed.policy.thresholds.review = 0.31
        try await Self.withState(changed) { state, _ in
            #expect(state.restart.snapshot == nil)
            #expect(state.restart.replayedEvents == 600)
            #expect(state.restart.warnings.contains { $0.contains("another policy") })
        }
    }

    @Test func compactionDeletesWhatTheOlderSnapshotCoversAndARestartStillAgrees() async throws {
        let dir = ScratchDirectory()
        let c = Self.configuration(dir)
        let before: String = try await Self.withState(c) { state, client in
            for k in 0..<3 {
                _ = try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 20, perAccount: 5, startMinute: 5 * k))
                _ = try await client.post("/v1/snapshot", Secret.analyst, "")
            }
            _ = try await client.post("/v1/accounts/acct-0/label", Secret.analyst, #"{"label":"confirmed_attack"}"#)
            _ = try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 20, perAccount: 5, startMinute: 15))
            let log = try await state.store.eventCounts()
            #expect(log.compactedThrough == 200, "the older of the two kept snapshots")
            #expect(log.total == 100 + 1 + 100, "the tail after it, the label, and the newest batch: \(log)")
            #expect(try await state.store.labels(subject: "acct-0", kind: .accountLabel).count == 1)
            #expect(state.snapshots?.status.compactedEvents == 200)
            return try await Self.report(client)
        }
        #expect(try SnapshotDirectory(path: c.database + ".snapshots").list().map(\.lastSequence) == [300, 200])
        try await Self.withState(c) { state, client in
            #expect(state.restart.snapshotSequence == 300)
            let after = try await Self.report(client)
            #expect(Self.same(before, after))
        }
        // Under another policy: the history before the compaction lives only in the
        // snapshot, so it is loaded (with a warning) rather than lost.
        var changed = c
        changed.policy.thresholds.review = 0.31
        try await Self.withState(changed) { state, _ in
            #expect(state.restart.snapshotSequence == 300)
            #expect(state.restart.warnings.contains { $0.contains("loaded although taken under another policy or reorder setting, because the log before it was compacted") })
        }
    }

    /// A database started anew beside the old one's snapshots: they are set aside (never
    /// loaded, never pruned in place of the new log's), and compaction never deletes the
    /// new log on their account.
    @Test func snapshotsOfAnotherDatabaseAreSetAsideNeverUsedOrCountedForCompaction() async throws {
        let dir = ScratchDirectory()
        let c = Self.configuration(dir)
        try await Self.withState(c) { _, client in
            _ = try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 20, perAccount: 30))
            #expect(try await client.post("/v1/snapshot", Secret.analyst, "").status == .ok)
        }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: c.database + suffix) }
        try await Self.withState(c) { state, client in
            #expect(state.restart.snapshot == nil)
            #expect(state.restart.warnings.contains { $0.contains("a snapshot of another database") }, "\(state.restart.warnings)")
            let names = try FileManager.default.contentsOfDirectory(atPath: c.database + ".snapshots")
            #expect(names.contains { $0.hasSuffix(".dwsnap.set-aside") })
            for k in 0..<3 {
                _ = try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 5, perAccount: 4, startMinute: 4 * k))
                #expect(try await client.post("/v1/snapshot", Secret.analyst, "").status == .ok)
            }
            let log = try await state.store.eventCounts()
            #expect(log.compactedThrough == 40, "through the older of the new log's two kept snapshots, not the old log's 600")
            #expect(log.total == 20)
        }
    }

    /// A store in memory whose appends fail while `failing` is set (as on a full disk) and
    /// wait while `holding` is set (to fill the pending queue).
    final class ControlledStore: EventStore {
        let base = InMemoryEventStore()
        let failing = Atomic<Bool>(false)
        let holding = Atomic<Bool>(false)
        func append(_ events: [NewEvent], at time: Timestamp) async throws -> ClosedRange<Int64>? {
            while holding.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(5)) }
            try probeWrite()
            return try await base.append(events, at: time)
        }
        private func probeWrite() throws {
            if failing.load(ordering: .relaxed) { throw StoreError("database or disk is full (SQLITE_FULL)") }
        }
        func probeWrite(at time: Timestamp) async throws { try probeWrite() }
        func events(after sequence: Int64, limit: Int) async throws -> [StoredEvent] { try await base.events(after: sequence, limit: limit) }
        func eventCounts() async throws -> EventCounts { try await base.eventCounts() }
        func logPosition() async throws -> EventCounts { try await base.logPosition() }
        func labels(subject: String, kind: EventKind) async throws -> [StoredEvent] { try await base.labels(subject: subject, kind: kind) }
        func recordDecisions(_ entries: [DecisionAuditEntry]) async throws { try await base.recordDecisions(entries) }
        func decisions(accountID: String?, limit: Int) async throws -> [DecisionAuditEntry] { try await base.decisions(accountID: accountID, limit: limit) }
        func quarantine(_ entries: [QuarantineEntry]) async throws { try await base.quarantine(entries) }
        func quarantined(limit: Int) async throws -> [QuarantinedEvent] { try await base.quarantined(limit: limit) }
        func compact(through sequence: Int64) async throws -> Int { try await base.compact(through: sequence) }
        func fileProblem() -> String? { nil }
        func close() async throws { try await base.close() }
    }

    @Test func aStorageFaultRefusesWritesWith503WhileDecideAnswersAndItRecoversByItself() async throws {
        let store = ControlledStore()
        try await Self.withState(testConfiguration(), store: store) { state, client in
            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 10, perAccount: 3)).status == .ok)
            store.failing.store(true, ordering: .relaxed)
            let refused = try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 10, perAccount: 3, startMinute: 3))
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.errorMessage.contains("database or disk is full"), "\(refused.text)")
            // Now refused at once, with the reason and Retry-After, without touching the store.
            let again = try await client.post("/v1/accounts/acct-1/label", Secret.analyst, #"{"label":"legitimate"}"#)
            #expect(again.status == .serviceUnavailable)
            #expect(again.headers[.retryAfter] == "1")
            #expect(again.errorMessage.contains("the event log cannot be written: database or disk is full"), "\(again.text)")
            let decide = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-1"}"#)
            #expect(decide.status == .ok)
            #expect(decide.json["known"] as? Bool == true)
            let health = try await client.get("/healthz", nil).json
            #expect(health["status"] as? String == "degraded")
            #expect((health["storage"] as? [String: Any])?["reason"] as? String == "database or disk is full (SQLITE_FULL)")
            #expect(try await client.get("/metrics", Secret.all).text.contains("distillwatch_storage_available 0"))
            let monitor = StorageMonitor(store: store, health: state.health, clock: state.clock, logger: quietLogger)
            await monitor.check()
            #expect(state.health.fault != nil, "still full")
            store.failing.store(false, ordering: .relaxed)
            await monitor.check()
            #expect(state.health.fault == nil)
            #expect(try await client.get("/healthz", nil).json["status"] as? String == "ok")
            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 10, perAccount: 3, startMinute: 3)).status == .ok)
            #expect(try await state.store.eventCounts().total == 60, "nothing refused was written, nothing accepted was lost")
        }
    }

    @Test func aDatabaseReplacedUnderTheServerIsNoticedAndTheOriginalPutBackRecovers() async throws {
        let dir = ScratchDirectory()
        let c = Self.configuration(dir)
        try await Self.withState(c) { state, client in
            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 5, perAccount: 2)).status == .ok)
            let aside = c.database + ".aside"
            try FileManager.default.moveItem(atPath: c.database, toPath: aside)
            #expect(FileManager.default.createFile(atPath: c.database, contents: Data("not a database".utf8)))
            let refused = try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 5, perAccount: 2, startMinute: 2))
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.errorMessage.contains("was replaced by another file"), "\(refused.text)")
            #expect(try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-1"}"#).status == .ok)
            try FileManager.default.removeItem(atPath: c.database)
            try FileManager.default.moveItem(atPath: aside, toPath: c.database)
            await StorageMonitor(store: state.store, health: state.health, clock: state.clock, logger: quietLogger).check()
            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 5, perAccount: 2, startMinute: 2)).status == .ok)
            #expect(try await state.store.eventCounts().total == 20)
        }
    }

    @Test func theReorderBufferHoldsItsBoundWhenExchangeTimesStall() async throws {
        var c = testConfiguration(toleranceSeconds: 300)
        c.maxBufferedExchanges = 100
        try await Self.withState(c) { state, client in
            // 1,000 exchanges all stamped with one instant: the watermark never moves.
            let t = testStart.rfc3339
            let body = (0..<1_000).map { #"{"time":"\#(t)","account_id":"acct-\#($0 % 40)","output_tokens":10}"# }.joined(separator: "\n")
            let accepted = try await client.post("/v1/exchanges", Secret.ingest, body)
            #expect(accepted.status == .ok)
            let engine = state.engine.status()
            #expect(engine.buffered == 100)
            #expect(engine.overflowExchanges == 900)
            #expect(engine.observedExchanges == 900)
            let metrics = try await client.get("/metrics", Secret.all).text
            #expect(metrics.contains("distillwatch_reorder_overflow_exchanges 900"))
        }
    }

    @Test func batchesBeyondThePendingBoundAreRefusedWith429() async throws {
        var c = testConfiguration()
        c.maxPendingBatches = 2
        let store = ControlledStore()
        store.holding.store(true, ordering: .relaxed)
        try await Self.withState(c, store: store) { state, client in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for k in 0..<2 {
                    group.addTask { try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 3, perAccount: 1, startMinute: k)).status }
                }
                while state.ingestor.pendingBatches < 2 { try await Task.sleep(for: .milliseconds(5)) }
                let third = try await client.post("/v1/exchanges", Secret.ingest, Self.traffic(accounts: 3, perAccount: 1, startMinute: 5))
                #expect(third.status == .tooManyRequests)
                #expect(third.headers[.retryAfter] == "1")
                #expect(third.errorMessage.contains("max_pending_batches"))
                store.holding.store(false, ordering: .relaxed)
                var out: [HTTPResponse.Status] = []
                for try await s in group { out.append(s) }
                return out
            }
            #expect(statuses == [.ok, .ok])
            #expect(try await state.store.eventCounts().total == 6)
        }
    }
}
