import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// A hydra of 24 accounts on 4 shared cards, each request from a new proxy address in a
/// pool of 30 networks, as NDJSON account and exchange lines.
func hydraLines(accounts: Int = 24, hours: Int = 6) -> (accounts: [String], exchanges: [String]) {
    var rng = SeededGenerator(seed: 3)
    var accountLines: [String] = []
    var items: [(Timestamp, Exchange)] = []
    let countries = ["US", "BR", "IN", "DE", "VN", "ID"]
    for k in 0..<accounts {
        let id = "hydra-\(k)"
        accountLines.append(#"{"account_id":"\#(id)","tier":"free","verified":false,"payment_fingerprint":"pf-\#(k % 4)","created":"2026-03-31T12:0\#(k % 10):00Z"}"#)
        var t = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!.adding(seconds: rng.nextUnit() * 300)
        for _ in 0..<(hours * 20) {
            let asn = 64_500 + rng.below(30)
            var e = Exchange(time: t, accountID: id, model: "m-large", outputTokens: 2_000, maxTokens: 16_000, thinking: true)
            e.clientIP = "100.\(asn % 200).\(rng.below(256)).\(1 + rng.below(250))"
            e.asn = asn
            e.country = countries[rng.below(countries.count)]
            items.append((t, e))
            t = t.adding(seconds: 180 * (0.5 + rng.nextUnit()))
        }
    }
    let lines = items.sorted { $0.0 < $1.0 }.map { item -> String in
        var bytes: [UInt8] = []
        JSONLineEncoder.append(item.1, to: &bytes, timeEncoding: .rfc3339)
        return String(decoding: bytes.dropLast(), as: UTF8.self)
    }
    return (accountLines, lines)
}

@Suite struct CampaignRouteTests {
    @Test func campaignsAreFoundLabelledAndReplayedAfterARestart() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path + "/events.sqlite"
        let (accountLines, lines) = hydraLines()
        let reference = referenceReport(exchangeLines: lines, accountLines: accountLines, toleranceSeconds: 0)
        #expect(reference.campaigns.count == 1)

        try await withServer(.live, store: try SQLiteEventStore(path: path)) { client in
            let accounts = try await client.post("/v1/accounts", Secret.ingest, accountLines.joined(separator: "\n") + "\n")
            #expect(accounts.status == .ok)
            try await ingest(client, lines, batchSize: 333)
            let list = try await client.get("/v1/campaigns", Secret.analyst).decode(CampaignListBody.self)
            #expect(list.campaigns == reference.campaigns)
            let campaign = try #require(list.campaigns.first)
            #expect(campaign.accounts.count == 24)
            #expect(campaign.evidence.contains { $0.kind == "shared_payment" })

            let decide = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"hydra-5"}"#)
            #expect(decide.json["campaign_id"] as? String == campaign.campaignID)
            #expect(decide.json["verdict"] as? String != "allow")

            // Dismissed by an analyst: the campaign's verdict drops, members fall back to their own.
            let label = try await client.post("/v1/campaigns/\(campaign.campaignID)/label", Secret.analyst,
                                              #"{"label":"legitimate","note":"licensed reseller"}"#)
            #expect(label.status == .ok)
            let after = try await client.get("/v1/campaigns/\(campaign.campaignID)", Secret.analyst)
            #expect(after.json["verdict"] as? String == "allow")
            #expect(after.json["analyst_label"] as? String == "legitimate")
        }
        // A restart replays exchanges and the label into the same campaign state.
        try await withServer(.live, store: try SQLiteEventStore(path: path)) { client in
            let list = try await client.get("/v1/campaigns", Secret.analyst).decode(CampaignListBody.self)
            #expect(list.campaigns.count == 1)
            #expect(list.campaigns.first?.verdict == .allow)
            #expect(list.campaigns.first?.analystLabel == .legitimate)
        }
    }
}

struct CampaignListBody: Decodable {
    var campaigns: [ScanReport.Campaign]
}

/// Every verdict explains itself: a campaign member's decide answer, LiteLLM guardrail
/// refusal and Envoy denial name the campaign and its strongest evidence.
@Suite struct CampaignExplanationTests {
    @Test func decideAndGatewayRefusalsNameTheCampaign() async throws {
        let (accountLines, lines) = hydraLines()
        var configuration = testConfiguration()
        configuration.litellmRefuseAt = .review
        try await withServer(.router, configuration) { client in
            _ = try await client.post("/v1/accounts", Secret.ingest, accountLines.joined(separator: "\n") + "\n")
            try await ingest(client, lines, batchSize: 1000)
            let campaign = try #require(try await client.get("/v1/campaigns", Secret.analyst).decode(CampaignListBody.self).campaigns.first)

            let decide = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"hydra-5"}"#)
            let reasons = try #require(decide.json["reasons"] as? [[String: Any]])
            #expect(reasons.first?["signal"] as? String == "campaign_membership", "\(decide.text)")
            let detail = reasons.first?["detail"] as? String ?? ""
            #expect(detail.contains("member of \(campaign.campaignID) (24 linked accounts") && detail.contains("strongest:"), "\(detail)")

            let guardrail = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide,
                                                  #"{"input_type":"request","request_data":{"user_api_key_user_id":"hydra-5"}}"#)
            #expect(guardrail.json["action"] as? String == "BLOCKED")
            #expect((guardrail.json["blocked_reason"] as? String)?.contains("member of \(campaign.campaignID)") == true, "\(guardrail.text)")

            let verdict = decide.json["verdict"] as? String
            let envoy = try await client.execute(uri: "/distillwatch/v1/chat/completions", method: .post,
                                                 headers: [HTTPField.Name("x-api-key")!: Secret.decide, HTTPField.Name("x-account-id")!: "hydra-5"],
                                                 body: ByteBuffer(string: "{}"))
            if verdict == "block" || verdict == "throttle" {
                let message = (envoy.json["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains("member of \(campaign.campaignID)"), "\(envoy.text)")
            }
            #expect(envoy.headers[HTTPField.Name("x-distillwatch-campaign")!] == campaign.campaignID)
        }
    }
}
