import DistillWatchCore
@testable import DistillWatchSimulator
import DistillWatchTestSupport
import Testing

/// A scanner restored from a snapshot taken anywhere in a scenario's traffic ends with
/// exactly the report of one that never stopped: every persona of the mixed scenario
/// (campaigns, relays, replays, keys, the reorder buffer's merges) goes through the codecs.
@Suite(.onTheHeavyLane) struct SnapshotParityTests {
    @Test(arguments: [0.2, 0.55, 0.9])
    func aRestoredScannerEndsWhereTheUninterruptedOneDoes(at fraction: Double) throws {
        let plan = ScenarioPlan(scenario: try #require(Scenario.named("mixed")), scale: 1, seed: 5)
        let exchanges = allExchanges(plan)
        let sketcher = ContentSketcher(key: ContentKey(k0: 5, k1: 0x5EED_C0DE))
        let tolerance = ReorderBuffer.defaultToleranceMilliseconds
        var uninterrupted = TrafficScanner(policy: .default, toleranceMilliseconds: tolerance, sketcher: sketcher, mergesRequestIDs: true)
        for a in plan.accounts { uninterrupted.register(a) }
        let cut = Int(Double(exchanges.count) * fraction)
        var restored: TrafficScanner?
        for (i, e) in exchanges.enumerated() {
            if i == cut {
                let bytes = uninterrupted.snapshot()
                restored = try TrafficScanner(snapshot: bytes, policy: .default, toleranceMilliseconds: tolerance,
                                              sketcher: sketcher, mergesRequestIDs: true)
                #expect(restored!.snapshot() == bytes)
            }
            if i == exchanges.count / 2, let flagged = uninterrupted.engine.accountSummaries.first(where: { $0.verdict.isFlagged }) {
                // An analyst's label on both sides of the cut.
                uninterrupted.applyLabel(.legitimate, to: flagged.accountID, at: e.time)
                restored?.applyLabel(.legitimate, to: flagged.accountID, at: e.time)
            }
            uninterrupted.observe(e)
            restored?.observe(e)
        }
        var resumed = try #require(restored)
        let t = Timestamp(millisecondsSinceEpoch: 0)
        let expected = uninterrupted.finish(generatedAt: t, includeAllAccounts: true)
        let got = resumed.finish(generatedAt: t, includeAllAccounts: true)
        #expect(exchanges.count > 10_000)
        #expect(expected.campaigns.isEmpty == false)
        #expect(got == expected)
        #expect(resumed.snapshot() == uninterrupted.snapshot())
    }
}
