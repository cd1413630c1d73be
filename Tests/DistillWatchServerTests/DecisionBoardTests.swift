import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchServer

/// `decide` answers from the published board (no engine lock); every answer must equal
/// the one computed from the engine, for every account and key, before and after more
/// traffic, labels and campaign labels arrive.
@Suite struct DecisionBoardTests {
    static func expectBoardAgrees(_ state: ServerState, accounts: Int, _ comment: String) {
        var compared = 0, flagged = 0, inCampaign = 0
        for a in -1..<accounts {
            let id = a < 0 ? "never-seen" : "acct-\(a)"
            for key in [nil, "key-0", "key-1", "key-2", "key-3", "key-4", "no-such-key"] as [String?] {
                let board = state.engine.decide(id, key: key)
                let engine = state.engine.decideFromEngine(id, key: key)
                #expect(board == engine, "\(comment): \(id) key \(key ?? "none")")
                compared += 1
                if key == nil, board.decision.verdict.isFlagged { flagged += 1 }
                if key == nil, board.campaign != nil { inCampaign += 1 }
            }
        }
        #expect(compared == (accounts + 1) * 7)
        #expect(flagged > 0, "\(comment): some accounts should be flagged")
        #expect(inCampaign > 0, "\(comment): some accounts should be in a flagged campaign")
    }

    @Test func theBoardGivesTheEnginesAnswerForEveryAccountAndKey() async throws {
        try await DurabilityTests.withState(testConfiguration(toleranceSeconds: 0)) { state, client in
            _ = try await client.post("/v1/exchanges", Secret.ingest, DurabilityTests.traffic(accounts: 90, perAccount: 25))
            await state.boardReady.value
            #expect(state.engine.board.isComplete)
            Self.expectBoardAgrees(state, accounts: 90, "after warm-up")
            // Changes published slice by slice: more traffic, an account label, a campaign label.
            _ = try await client.post("/v1/exchanges", Secret.ingest, DurabilityTests.traffic(accounts: 90, perAccount: 15, startMinute: 25))
            Self.expectBoardAgrees(state, accounts: 90, "after more traffic")
            _ = try await client.post("/v1/accounts/acct-3/label", Secret.analyst, #"{"label":"legitimate"}"#)
            _ = try await client.post("/v1/accounts/acct-7/label", Secret.analyst, #"{"label":"confirmed_attack"}"#)
            let campaigns = try await client.get("/v1/campaigns", Secret.analyst).json["campaigns"] as? [[String: Any]] ?? []
            let id = try #require(campaigns.first?["campaign_id"] as? String)
            _ = try await client.post("/v1/campaigns/\(id)/label", Secret.analyst, #"{"label":"legitimate"}"#)
            Self.expectBoardAgrees(state, accounts: 90, "after labels")
            _ = try await client.post("/v1/exchanges", Secret.ingest, DurabilityTests.traffic(accounts: 120, perAccount: 10, startMinute: 40))
            Self.expectBoardAgrees(state, accounts: 120, "after new accounts")
        }
    }
}
