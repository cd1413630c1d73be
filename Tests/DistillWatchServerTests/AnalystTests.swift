import DistillWatchCore
import Foundation
import HummingbirdTesting
import Testing
@testable import DistillWatchServer

@Suite struct AnalystTests {
    @Test(arguments: Mode.allCases)
    func accountStateReadsLikeTheReport(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            let lines = sampleLines()
            try await ingest(client, lines, batchSize: 1000)
            let account = try await client.get("/v1/accounts/acct-harvester", Secret.analyst)
            #expect(account.status == .ok)
            let reference = referenceReport(exchangeLines: lines, toleranceSeconds: 0)
            let expected = try #require(reference.accounts.first { $0.accountID == "acct-harvester" })
            #expect(account.json["verdict"] as? String == expected.verdict.rawValue)
            #expect(account.json["score"] as? Double == expected.score)
            #expect(account.json["exchanges"] as? Int == expected.exchanges)
            #expect(account.json["exchanges_before_flag"] as? Int == expected.exchangesBeforeFlag)
            #expect(account.json["first_flagged_at"] as? String == expected.firstFlaggedAt?.rfc3339)
            let signals = account.json["signals"] as? [[String: Any]] ?? []
            #expect(signals.map { $0["name"] as? String } == expected.signals.map(\.name))
            #expect((account.json["readings"] as? [Any])?.count == SignalKind.allCases.count)
            // The view is the report's entry plus extras: decoded as an entry, it is the entry.
            #expect(try account.decode(ScanReport.Account.self) == expected)
            let missing = try await client.get("/v1/accounts/nobody", Secret.analyst)
            #expect(missing.status == .notFound)
            #expect(missing.errorMessage.contains("nobody"))
        }
    }

    @Test(arguments: Mode.allCases)
    func aLegitimateLabelClearsTheVerdictAndIsKeptWithItsNote(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            try await ingest(client, sampleLines(), batchSize: 3000)
            let before = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-harvester"}"#)
            #expect(before.json["verdict"] as? String != "allow")
            let label = try await client.post("/v1/accounts/acct-harvester/label", Secret.analyst,
                                              #"{"label":"legitimate","note":"licensed evaluation partner, ticket 4411"}"#)
            #expect(label.status == .ok, "\(label.text)")
            let after = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-harvester"}"#)
            #expect(after.json["verdict"] as? String == "allow")
            #expect(after.json["analyst_label"] as? String == "legitimate")
            let account = try await client.get("/v1/accounts/acct-harvester", Secret.analyst)
            let labels = account.json["labels"] as? [[String: Any]] ?? []
            #expect(labels.count == 1)
            #expect(labels.first?["note"] as? String == "licensed evaluation partner, ticket 4411")
            #expect(labels.first?["analyst"] as? String == "alice")
            #expect(labels.first?["label"] as? String == "legitimate")
            #expect(account.json["analyst_label"] as? String == "legitimate")
        }
    }

    @Test(arguments: Mode.allCases)
    func theSameEvidenceDoesNotFlagALegitimateAccountAgain(_ mode: Mode) async throws {
        let lines = sampleLines(count: 4500)
        try await withServer(mode) { client in
            try await ingest(client, Array(lines[..<3000]), batchSize: 1000)
            _ = try await client.post("/v1/accounts/acct-harvester/label", Secret.analyst, #"{"label":"legitimate"}"#)
            try await ingest(client, Array(lines[3000...]), batchSize: 500)
            let after = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-harvester"}"#)
            #expect(after.json["verdict"] as? String == "allow", "\(after.text)")
            // Without the label, the same traffic keeps it flagged.
            let reference = referenceReport(exchangeLines: lines, toleranceSeconds: 0)
            #expect(reference.accounts.first { $0.accountID == "acct-harvester" }?.verdict.isFlagged == true)
        }
    }

    @Test(arguments: Mode.allCases)
    func aConfirmedAttackLabelBlocksEvenAnOrdinaryAccount(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            try await ingest(client, sampleLines(count: 300), batchSize: 300)
            let r = try await client.post("/v1/accounts/acct-4/label", Secret.analyst, #"{"label":"confirmed_attack"}"#)
            #expect(r.status == .ok)
            let accounts = r.json["accounts"] as? [[String: Any]]
            #expect(accounts?.first?["verdict"] as? String == "block")
            let decide = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-4"}"#)
            #expect(decide.json["verdict"] as? String == "block")
            let bad = try await client.post("/v1/accounts/acct-4/label", Secret.analyst, #"{"label":"maybe"}"#)
            #expect(bad.status == .badRequest)
            #expect(bad.errorMessage.contains("confirmed_attack"))
            let noLabel = try await client.post("/v1/accounts/acct-4/label", Secret.analyst, #"{"note":"x"}"#)
            #expect(noLabel.status == .badRequest)
        }
    }

    @Test(arguments: Mode.allCases)
    func campaignsAreListedAsInTheReport(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            try await ingest(client, sampleLines(count: 600), batchSize: 600)
            let list = try await client.get("/v1/campaigns", Secret.analyst)
            #expect(list.status == .ok)
            let reference = referenceReport(exchangeLines: sampleLines(count: 600), toleranceSeconds: 0)
            #expect((list.json["campaigns"] as? [Any])?.count == reference.campaigns.count)
            let missing = try await client.get("/v1/campaigns/campaign-999", Secret.analyst)
            #expect(missing.status == .notFound)
            let label = try await client.post("/v1/campaigns/campaign-999/label", Secret.analyst, #"{"label":"confirmed_attack"}"#)
            #expect(label.status == .notFound)
            // 0 is the number of every group not yet flagged: it names no campaign (it labelled
            // whichever unflagged group came first); numbers past Int32 trapped the server,
            // and hasCampaign truncated them onto a real one (2^32 + 1 read as 1).
            // Other spellings of campaign-1 name nothing either: labelled through one, campaign 1
            // was dismissed while what was shared of it (kept under campaign-1) stayed published.
            for id in ["campaign-0", "campaign--1", "campaign-99999999999", "campaign-4294967297", "campaign-01", "campaign-+1"] {
                let refused = try await client.post("/v1/campaigns/\(id)/label", Secret.analyst, #"{"label":"confirmed_attack"}"#)
                #expect(refused.status == .notFound, "\(id)")
                #expect(try await client.get("/v1/campaigns/\(id)", Secret.analyst).status == .notFound, "\(id)")
                #expect(try await client.post("/v1/campaigns/\(id)/note", Secret.analyst, #"{"note":"x"}"#).status == .notFound, "\(id)")
            }
            #expect(try await client.get("/healthz", "").status == .ok)
        }
    }

    @Test(arguments: Mode.allCases)
    func metricsCountExchangesDecisionsAndAccounts(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            try await ingest(client, sampleLines(count: 3000), batchSize: 1000)
            _ = try await client.post("/v1/exchanges", Secret.ingest, "junk")
            _ = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-harvester"}"#)
            _ = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-1"}"#)
            let metrics = try await client.get("/metrics", Secret.decide)
            #expect(metrics.status == .ok)
            let text = metrics.text
            #expect(text.contains(#"distillwatch_exchanges_total{result="accepted"} 3000"#))
            #expect(text.contains(#"distillwatch_exchanges_total{result="rejected"} 1"#))
            #expect(text.contains(#"distillwatch_decisions_total{endpoint="decide",verdict="allow"} 1"#))
            #expect(text.contains(#"distillwatch_request_duration_seconds_bucket{endpoint="decide""#))
            #expect(text.contains(#"distillwatch_accounts{verdict="allow"} 11"#))
            #expect(text.contains("distillwatch_campaigns 0"))
            // The ingest lane's starvations: a per-process count (0 unless other tests starve it).
            #expect(text.contains("# TYPE distillwatch_ingest_lane_starvations_total counter"))
        }
    }
}
