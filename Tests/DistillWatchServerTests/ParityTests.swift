import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Foundation
import HummingbirdTesting
import Testing
@testable import DistillWatchServer

/// The same traffic through `POST /v1/exchanges`, in batches of any size, gives the same
/// report as `TrafficScanner` fed directly (what `scan` runs), once both are flushed.
@Suite struct ParityTests {
    static let lines = sampleLines(count: 3000, jitterSeconds: 240, seed: 11)

    @Test(arguments: [1, 7, 128, 1000, 3000])
    func batchesOfAnySizeGiveTheScanReport(_ batchSize: Int) async throws {
        let reference = referenceReport(exchangeLines: Self.lines, accountLines: sampleAccountLines, toleranceSeconds: 300)
        #expect(reference.accounts.contains { $0.verdict.isFlagged }, "the sample must flag someone")
        let report = try await withServer(.router, testConfiguration(toleranceSeconds: 300)) { client in
            let accounts = try await client.post("/v1/accounts", Secret.ingest, sampleAccountLines.joined(separator: "\n"))
            #expect(accounts.status == .ok)
            try await ingest(client, Self.lines, batchSize: batchSize)
            // Before the flush, the reorder buffer still holds the last five minutes.
            let status = try await client.get("/v1/status", Secret.analyst)
            #expect(((status.json["engine"] as? [String: Any])?["buffered_exchanges"] as? Int ?? 0) > 0)
            let flush = try await client.post("/v1/flush", Secret.analyst, "")
            #expect(flush.status == .ok)
            return try await client.get("/v1/report?all=true", Secret.analyst).decode(ScanReport.self)
        }
        #expect(report.accounts == reference.accounts)
        #expect(report.campaigns == reference.campaigns)
        #expect(report.input.exchanges == reference.input.exchanges)
        #expect(report.input.lateExchanges == reference.input.lateExchanges)
        #expect(report.input.firstTime == reference.input.firstTime && report.input.lastTime == reference.input.lastTime)
    }

    @Test(arguments: [0.0, 60.0])
    func otherTolerancesMatchTheScannerWithTheSameTolerance(_ tolerance: Double) async throws {
        let lines = sampleLines(count: 1500, jitterSeconds: 30, seed: 5)
        let reference = referenceReport(exchangeLines: lines, toleranceSeconds: tolerance)
        let report = try await withServer(.router, testConfiguration(toleranceSeconds: tolerance)) { client in
            try await ingest(client, lines, batchSize: 100)
            _ = try await client.post("/v1/flush", Secret.analyst, "")
            return try await client.get("/v1/report?all=true", Secret.analyst).decode(ScanReport.self)
        }
        #expect(report.accounts == reference.accounts)
        #expect(report.input.lateExchanges == reference.input.lateExchanges)
    }

    /// Stopping and starting the server in the middle of the traffic changes nothing: the
    /// log replays into a fresh engine, reorder buffer included (no flush in between).
    @Test func aRestartedServerContinuesAsIfItNeverStopped() async throws {
        let dir = ScratchDirectory()
        let path = dir.path + "/state.sqlite"
        let configuration = testConfiguration(toleranceSeconds: 300)
        let (firstHalf, secondHalf) = (Array(Self.lines[..<1700]), Array(Self.lines[1700...]))
        try await withServer(.live, configuration, store: try SQLiteEventStore(path: path)) { client in
            _ = try await client.post("/v1/accounts", Secret.ingest, sampleAccountLines.joined(separator: "\n"))
            try await ingest(client, firstHalf, batchSize: 250)
            _ = try await client.post("/v1/accounts/acct-7/label", Secret.analyst, #"{"label":"confirmed_attack","note":"tip-off"}"#)
            _ = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-7","request_id":"before-restart"}"#)
        }
        let report = try await withServer(.live, configuration, store: try SQLiteEventStore(path: path)) { client in
            let decide = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-7"}"#)
            #expect(decide.json["verdict"] as? String == "block")
            // The audit log written before the (clean) stop is still there.
            let audit = try await client.get("/v1/decisions?account_id=acct-7", Secret.analyst)
            #expect((audit.json["decisions"] as? [[String: Any]])?.last?["request_id"] as? String == "before-restart")
            try await ingest(client, secondHalf, batchSize: 250)
            _ = try await client.post("/v1/flush", Secret.analyst, "")
            let account = try await client.get("/v1/accounts/acct-7", Secret.analyst)
            #expect((account.json["labels"] as? [[String: Any]])?.first?["note"] as? String == "tip-off")
            return try await client.get("/v1/report?all=true", Secret.analyst).decode(ScanReport.self)
        }
        // A server that never stopped, fed the same requests.
        let unbroken = try await withServer(.router, configuration) { client in
            _ = try await client.post("/v1/accounts", Secret.ingest, sampleAccountLines.joined(separator: "\n"))
            try await ingest(client, firstHalf, batchSize: 250)
            _ = try await client.post("/v1/accounts/acct-7/label", Secret.analyst, #"{"label":"confirmed_attack","note":"tip-off"}"#)
            try await ingest(client, secondHalf, batchSize: 250)
            _ = try await client.post("/v1/flush", Secret.analyst, "")
            return try await client.get("/v1/report?all=true", Secret.analyst).decode(ScanReport.self)
        }
        #expect(report.accounts == unbroken.accounts)
        #expect(report.input == unbroken.input)
        #expect(report.accounts.first { $0.accountID == "acct-7" }?.verdict == .block)
    }
}
