@testable import DistillWatchCore
@testable import DistillWatchSimulator
import Testing

/// ``DetectionEngine/pairEvidenceBound(_:_:sharedKey:keyFactor:)`` rules a pair out before it
/// is compared; that is only sound if it is never below the comparison's total. Checked on
/// the scenarios' accounts as the traffic goes, mid-stream and at the end, for every key a
/// comparison can come from and for full and partial rarity, on campaign members (whose
/// evidence is strong and of many kinds) and on accounts picked across the population.
@Suite struct PairEvidenceBoundTests {
    static let sketcher = ContentSketcher(key: ContentKey(k0: 21, k1: 0x7A4_7177))
    static let keys: [LinkEvidenceKind?] = [nil, .sharedAddress, .sharedSubnet, .sharedUserAgent, .sharedClientFingerprint]

    struct Tally {
        var pairs = 0
        var ruledOut = 0
        var attaching = 0
        var kinds: UInt16 = 0
    }

    /// Up to `limit` accounts: members of linked groups first (20 of each), then every k-th account.
    static func accounts(_ engine: inout DetectionEngine, limit: Int) -> [Int32] {
        var picked: [Int32] = []
        for (_, group) in engine.linkage.groups.sorted(by: { $0.key < $1.key }) where group.members.count > 1 {
            picked += group.members.prefix(20)
        }
        let n = engine.linkage.profiles.count
        let stride = max(1, n / 60)
        picked += Swift.stride(from: 0, to: n, by: stride).map { Int32($0) }
        return Array(Set(picked).sorted().prefix(limit))
    }

    static func check(_ engine: DetectionEngine, limit: Int, into tally: inout Tally, _ name: String) {
        var engine = engine
        let accounts = accounts(&engine, limit: limit)
        let attach = engine.policy.campaigns.attachThreshold
        for (x, a) in accounts.enumerated() {
            for b in accounts[(x + 1)...] {
                for key in keys {
                    for factor in [1.0, 0.4] {
                        let bound = engine.pairEvidenceBound(a, b, sharedKey: key, keyFactor: factor)
                        let evidence = engine.pairEvidence(a, b, sharedKey: key, keyFactor: factor)
                        tally.pairs += 1
                        tally.kinds |= evidence.kinds
                        if evidence.total >= attach { tally.attaching += 1 }
                        if bound < attach - DetectionEngine.boundMargin { tally.ruledOut += 1 }
                        guard bound >= evidence.total else {
                            Issue.record("\(name): accounts \(a), \(b), key \(key.map { "\($0)" } ?? "none"), factor \(factor): bound \(bound) below the total \(evidence.total) (kinds \(evidence.kinds))")
                            return
                        }
                    }
                }
            }
        }
    }

    @Test(arguments: [("mixed", 1.0), ("hydra-2026", 0.0002), ("agentic-hydra", 0.02), ("relay-2026", 0.02)])
    func theBoundIsNeverBelowTheComparison(_ name: String, scale: Double) throws {
        let plan = ScenarioPlan(scenario: try #require(Scenario.named(name)), scale: scale, seed: 21)
        let exchanges = allExchanges(plan).map { $0.content == nil ? $0.sketched(by: Self.sketcher) : $0 }
            .sorted { $0.time < $1.time }
        var engine = DetectionEngine(policy: .default)
        for a in plan.accounts { engine.register(a) }
        var tally = Tally()
        for (n, e) in exchanges.enumerated() {
            engine.observeAccepted(e)
            if n == exchanges.count / 2 { Self.check(engine, limit: 60, into: &tally, name) }
        }
        Self.check(engine, limit: 90, into: &tally, name)
        // The check means something: pairs strong enough to attach, pairs the bound rules
        // out, and evidence of several kinds among them.
        #expect(tally.attaching > 0, "\(name): no pair reaches the attach threshold")
        #expect(tally.ruledOut > 0, "\(name): the bound rules no pair out")
        #expect(tally.kinds.nonzeroBitCount >= 5, "\(name): evidence of \(tally.kinds.nonzeroBitCount) kinds")
    }
}
