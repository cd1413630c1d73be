import DistillWatchCore
@testable import DistillWatchSimulator
import DistillWatchTestSupport
import Testing

/// What a server publishes from the engine's change list (account, key and campaign parts,
/// ``DetectionEngine/takeChanges()``) composes to exactly the engine's own decision and
/// campaign membership for every account, all along a scenario with every persona: a
/// change the engine forgets to list (a campaign merge renumbering members, a label)
/// leaves a stale part and fails here.
@Suite(.onTheHeavyLane) struct ChangeTrackingParityTests {
    struct Published {
        var accounts: [String: AccountAnswer] = [:]
        var campaigns: [Int32: CampaignAnswer] = [:]

        mutating func apply(_ changes: EngineChanges, from engine: DetectionEngine) {
            for i in changes.accounts {
                let a = engine.accountAnswer(at: i)
                accounts[a.accountID] = a
            }
            for r in changes.campaignRoots {
                if let c = engine.campaignAnswer(root: r) { campaigns[c.number] = c }
            }
        }

        func expectAgrees(with engine: DetectionEngine, ids: [String], _ when: String) -> Int {
            var compared = 0
            for id in ids where engine.knows(id) {
                guard let a = accounts[id] else {
                    Issue.record("\(when): \(id) is known but was never listed as changed")
                    continue
                }
                let (decision, membership) = DetectionEngine.compose(a, a.campaignNumber.flatMap { campaigns[$0] })
                #expect(decision == engine.decision(for: id), "\(when): \(id)")
                #expect(membership == engine.campaignMembership(of: id).flatMap { $0.verdict.isFlagged ? $0 : nil }, "\(when): \(id)")
                compared += 1
            }
            return compared
        }
    }

    @Test func publishedPartsComposeToTheEnginesDecisions() throws {
        let plan = ScenarioPlan(scenario: try #require(Scenario.named("mixed")), scale: 1, seed: 7)
        let exchanges = allExchanges(plan)
        var scanner = TrafficScanner(policy: .default, sketcher: ContentSketcher(key: ContentKey(k0: 7, k1: 1)), mergesRequestIDs: true)
        scanner.tracksChanges = true
        for a in plan.accounts { scanner.register(a) }
        var published = Published()
        let ids = plan.accounts.map(\.accountID)
        var compared = 0
        var labelled = false
        for (i, e) in exchanges.enumerated() {
            scanner.observe(e)
            // As the server does after every slice of a batch; compared at some of them.
            if i % 500 == 499 {
                published.apply(scanner.takeChanges(), from: scanner.engine)
                if i % 1_000 == 999 { compared += published.expectAgrees(with: scanner.engine, ids: ids, "after \(i + 1) exchanges") }
            }
            if !labelled, i > exchanges.count / 2, let member = ids.first(where: { scanner.engine.campaignMembership(of: $0) != nil }) {
                // An account label and a campaign label, as analysts give them.
                scanner.applyLabel(.legitimate, to: member, at: e.time)
                if let other = ids.first(where: { scanner.engine.campaignMembership(of: $0) != nil }),
                   let number = scanner.engine.campaignMembership(of: other).flatMap({ Int($0.campaignID.dropFirst("campaign-".count)) }) {
                    scanner.applyCampaignLabel(.confirmedAttack, toCampaign: number, at: e.time)
                }
                published.apply(scanner.takeChanges(), from: scanner.engine)
                labelled = true
            }
        }
        scanner.flush()
        published.apply(scanner.takeChanges(), from: scanner.engine)
        compared += published.expectAgrees(with: scanner.engine, ids: ids, "at the end")
        #expect(labelled)
        #expect(compared > 2_000)
        #expect(published.campaigns.values.contains { $0.verdict.isFlagged })
    }
}
