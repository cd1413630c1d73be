@testable import DistillWatchCore
@testable import DistillWatchSimulator
import DistillWatchTestSupport
import Testing

/// The engine on several threads (accounts partitioned across threads for their own state,
/// campaign linkage of one batch beside the next batch's accounts) gives every exchange the
/// decision, and ends in the state, that the sequential engine does: on every scenario with
/// campaigns, relays, reasoning replays, keys and content, in batches of every size, with
/// labels, account records and snapshots between batches.
@Suite(.onTheHeavyLane) struct EngineThreadsParityTests {
    static let sketcher = ContentSketcher(key: ContentKey(k0: 21, k1: 0x7A4_7177))

    /// Scenarios at scales of 10,000 to 60,000 exchanges: each with its campaigns.
    static let plans: [(String, Double)] = [
        ("mixed", 1), ("relay-2026", 0.02), ("cot-harvest", 0.02), ("agentic-hydra", 0.02), ("key-abuse", 0.05),
        ("hydra-2026", 0.0002),
    ]

    static func exchanges(_ plan: ScenarioPlan) -> [Exchange] {
        allExchanges(plan).map { $0.content == nil ? $0.sketched(by: sketcher) : $0 }
            .sorted { $0.time < $1.time }
    }

    @Test(arguments: plans)
    func everyDecisionIsTheSequentialEnginesDecision(_ name: String, scale: Double) throws {
        let plan = ScenarioPlan(scenario: try #require(Scenario.named(name)), scale: scale, seed: 21)
        let exchanges = Self.exchanges(plan)
        var sequential = DetectionEngine(policy: .default)
        var threaded = DetectionEngine(policy: .default)
        for a in plan.accounts {
            sequential.register(a)
            threaded.register(a)
        }
        let expected = exchanges.map { sequential.observeAccepted($0) }

        // Batches of uneven sizes (one exchange, a prime, a scan's size), three partitions.
        var got: [Decision] = []
        var waiting: DetectionEngine.PreparedBatch?
        var start = 0, k = 0
        let sizes = [1, 97, 2_048, 13, 700]
        while start < exchanges.count {
            let end = min(exchanges.count, start + sizes[k % sizes.count])
            let step = threaded.observeOverlapped(next: Array(exchanges[start..<end]), waiting: waiting, partitions: 3,
                                                  keepDecisions: true)
            got += step.decisions
            waiting = step.next
            start = end
            k += 1
        }
        if let waiting { threaded.linkBatch(waiting) { _, d in got.append(d) } }

        #expect(exchanges.count >= 5_000, "\(name): \(exchanges.count) exchanges")
        #expect(got.count == expected.count)
        let firstDifference = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(firstDifference == nil, "\(name): exchange \(firstDifference?.offset ?? -1) of \(exchanges.count)")
        #expect(expected.contains { $0.verdict.isFlagged }, "\(name): something is flagged")
        let t = Timestamp(millisecondsSinceEpoch: 0)
        #expect(ScanReport(engine: threaded, generatedAt: t, includeAllAccounts: true, lateExchanges: 0)
                == ScanReport(engine: sequential, generatedAt: t, includeAllAccounts: true, lateExchanges: 0))
    }

    /// Through the scanner (reorder buffer, batches of ``TrafficScanner/engineBatchSize``):
    /// labels, a late account record and shared indicators arrive between batches, snapshots
    /// are taken mid-stream, and the decisions of `observe(_:decided:)` are compared.
    @Test(arguments: [2, 4])
    func theScannerOnSeveralThreadsReportsWhatOneThreadDoes(threads: Int) throws {
        let plan = ScenarioPlan(scenario: try #require(Scenario.named("mixed")), scale: 1, seed: 8)
        let exchanges = allExchanges(plan)
        var one = TrafficScanner(policy: .default, sketcher: Self.sketcher)
        var several = TrafficScanner(policy: .default, sketcher: Self.sketcher)
        several.engineThreads = threads
        for a in plan.accounts.dropLast() {
            one.register(a)
            several.register(a)
        }
        var decisionsOne: [Decision] = [], decisionsSeveral: [Decision] = []
        for (n, e) in exchanges.enumerated() {
            switch n {
            case exchanges.count / 4:
                let same = several.snapshot() == one.snapshot()  // compared first: a failure would print megabytes
                #expect(same, "snapshot at a quarter")
            case exchanges.count / 3:
                // An analyst's label: the pending batches are observed first.
                let flagged = try #require(one.engine.accountSummaries.first { $0.verdict.isFlagged })
                let labelled = one.applyLabel(.legitimate, to: flagged.accountID, at: e.time)
                #expect(several.applyLabel(.legitimate, to: flagged.accountID, at: e.time) == labelled)
            case exchanges.count / 2:
                let late = try #require(plan.accounts.last)
                one.register(late)
                several.register(late)
            default: break
            }
            if n % 1_000 < 10 {
                one.observe(e) { _, d in decisionsOne.append(d) }
                several.observe(e) { _, d in decisionsSeveral.append(d) }
            } else {
                one.observe(e)
                several.observe(e)
            }
        }
        #expect(decisionsSeveral == decisionsOne)
        let sameAtTheEnd = several.snapshot() == one.snapshot()
        #expect(sameAtTheEnd, "snapshot at the end")
        let t = Timestamp(millisecondsSinceEpoch: 0)
        let expected = one.finish(generatedAt: t, includeAllAccounts: true)
        #expect(several.finish(generatedAt: t, includeAllAccounts: true) == expected)
        #expect(!expected.campaigns.isEmpty)
    }
}
