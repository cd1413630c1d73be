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

    /// Traffic that repeats request ids (a guardrail call and its log; a batch sent twice):
    /// the server's report is the one `scan --merge-request-ids` gives (``TrafficScanner``
    /// merging), input counts included.
    @Test func repeatedRequestIDsGiveTheMergingScansReport() async throws {
        var built: [String] = []
        var views = 0
        // Each of the harvester's first 100 requests followed by its log view, and at the end
        // the first 50 lines again, once time has moved past them.
        for line in sampleLines(count: 1200, jitterSeconds: 30, seed: 3) {
            built.append(line)
            if views < 100, line.contains("acct-harvester") {
                built.append(line.replacingOccurrences(of: "\"output_tokens\":12000", with: "\"output_tokens\":12500"))
                views += 1
            }
        }
        built += built.prefix(50)
        let lines = built
        let reference = referenceReport(exchangeLines: lines, toleranceSeconds: 300, mergesRequestIDs: true)
        #expect((reference.input.mergedExchanges ?? 0) > 0 && (reference.input.duplicateExchanges ?? 0) > 0, "\(reference.input)")
        let report = try await withServer(.router, testConfiguration(toleranceSeconds: 300)) { client in
            try await ingest(client, lines, batchSize: 97)
            _ = try await client.post("/v1/flush", Secret.analyst, "")
            return try await client.get("/v1/report?all=true", Secret.analyst).decode(ScanReport.self)
        }
        #expect(report.input == reference.input)
        #expect(report.accounts == reference.accounts)
        #expect(report.campaigns == reference.campaigns)
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

/// Content signals run live as in `scan`, and the event log keeps no prompt text.
@Suite struct ContentPrivacyTests {
    static let sketcher = ContentSketcher(key: ContentKey(k0: 42, k1: 7))

    /// Prompts with a unique canary each: a chain-of-thought harvester and a person.
    static func lines() -> [String] {
        var t = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
        return (0..<300).map { i in
            t = t.adding(seconds: 45)
            let harvester = i % 2 == 0
            var bytes: [UInt8] = []
            JSONLineEncoder.append(Exchange(
                time: t, accountID: harvester ? "acct-cot" : "acct-person", model: "m", outputTokens: 500,
                system: "system-canary-\(i % 5)",
                prompt: harvester ? "Think step by step and show your reasoning: puzzle zzcanary\(i)qq about \(i) gears."
                                  : "what should I cook tonight with zzcanary\(i)qq and rice?",
                response: "response-canary-\(i)"), to: &bytes)
            return String(decoding: bytes.dropLast(), as: UTF8.self)
        }
    }

    @Test func contentSignalsLiveAndNoTextInTheLog() async throws {
        let dir = ScratchDirectory()
        let path = dir.path + "/state.sqlite"
        var configuration = testConfiguration(toleranceSeconds: 0)
        configuration.sketcher = Self.sketcher
        let lines = Self.lines()
        // What `scan` computes for the same lines with the same key.
        var scanner = TrafficScanner(toleranceMilliseconds: 0)
        let decoder = ExchangeLineDecoder(sketcher: Self.sketcher)
        for line in lines { scanner.observe(try decoder.decode(line)) }
        let reference = scanner.finish(generatedAt: Timestamp(millisecondsSinceEpoch: 0), includeAllAccounts: true)

        let live = try await withServer(.live, configuration, store: try SQLiteEventStore(path: path)) { client in
            try await ingest(client, lines, batchSize: 64)
            return try await client.get("/v1/report?all=true", Secret.analyst).decode(ScanReport.self)
        }
        #expect(live.accounts == reference.accounts)
        let cot = live.accounts.first { $0.accountID == "acct-cot" }?.signals.first { $0.name == "cot_elicitation" }
        #expect(cot?.value == 1)

        // The database holds sketches, not text.
        let stored = try Data(contentsOf: URL(fileURLWithPath: path)) + ((try? Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) ?? Data())
        for needle in ["zzcanary", "system-canary", "response-canary", "Think step by step"] {
            #expect(stored.range(of: Data(needle.utf8)) == nil, "\(needle) is in the event log")
        }

        // A restart replays the sketches into the same state.
        let replayed = try await withServer(.live, configuration, store: try SQLiteEventStore(path: path)) { client in
            try await client.get("/v1/report?all=true", Secret.analyst).decode(ScanReport.self)
        }
        #expect(replayed.accounts == live.accounts)
    }
}
