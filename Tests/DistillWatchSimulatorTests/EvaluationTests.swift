import DistillWatchCore
import DistillWatchIngest
@testable import DistillWatchSimulator
import DistillWatchTestSupport
import Testing

@Suite(.onTheHeavyLane) struct EvaluationTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_772_409_600_000)

    func at(minutes: Int64) -> Timestamp { t0.adding(milliseconds: minutes * 60_000) }

    /// Two campaigns and two legitimate personas, with known answers.
    func handBuiltCase() -> EvaluationReport {
        let labels = [
            LabelRecord(accountID: "a1", label: .attack, campaign: "c1", persona: "cot-harvest"),
            LabelRecord(accountID: "a2", label: .attack, campaign: "c1", persona: "cot-harvest"),
            LabelRecord(accountID: "a3", label: .attack, campaign: "c1", persona: "cot-harvest"),
            LabelRecord(accountID: "a4", label: .attack, campaign: "c1", persona: "cot-harvest"),
            LabelRecord(accountID: "b1", label: .attack, campaign: "c2", persona: "naive-bulk"),
            LabelRecord(accountID: "d1", label: .legit, persona: "individual-developer"),
            LabelRecord(accountID: "d2", label: .legit, persona: "individual-developer"),
            LabelRecord(accountID: "d3", label: .legit, persona: "individual-developer"),
            LabelRecord(accountID: "d4", label: .legit, persona: "individual-developer"),
            LabelRecord(accountID: "p1", label: .legit, persona: "licensed-distillation-partner"),
            LabelRecord(accountID: "silent", label: .legit, persona: "individual-developer"),
        ]
        let traffic: [String: AccountTraffic] = [
            "a1": AccountTraffic(exchanges: 100, firstTime: at(minutes: 0)),
            "a2": AccountTraffic(exchanges: 100, firstTime: at(minutes: 10)),
            "a3": AccountTraffic(exchanges: 100, firstTime: at(minutes: 20)),
            "a4": AccountTraffic(exchanges: 100, firstTime: at(minutes: 30)),
            "b1": AccountTraffic(exchanges: 50, firstTime: at(minutes: 5)),
            "d1": AccountTraffic(exchanges: 10, firstTime: at(minutes: 0)),
            "d2": AccountTraffic(exchanges: 10, firstTime: at(minutes: 0)),
            "d3": AccountTraffic(exchanges: 10, firstTime: at(minutes: 0)),
            "d4": AccountTraffic(exchanges: 10, firstTime: at(minutes: 0)),
            "p1": AccountTraffic(exchanges: 1000, firstTime: at(minutes: 0)),
            "stranger": AccountTraffic(exchanges: 3, firstTime: at(minutes: 0)),
        ]
        let outcomes: [String: AccountOutcome] = [
            // c1: three of four flagged; a1 after 20 of its 100, a2 after 50, a3 after 100 (all).
            "a1": AccountOutcome(accountID: "a1", verdict: .block, firstFlaggedAt: at(minutes: 90), exchangesBeforeFlag: 20, engineCampaign: "E1"),
            "a2": AccountOutcome(accountID: "a2", verdict: .review, firstFlaggedAt: at(minutes: 60), exchangesBeforeFlag: 50, engineCampaign: "E1"),
            "a3": AccountOutcome(accountID: "a3", verdict: .throttle, firstFlaggedAt: at(minutes: 120), exchangesBeforeFlag: 100, engineCampaign: "E2"),
            // d1 wrongly in E1; d2 flagged for review, d3 blocked.
            "d1": AccountOutcome(accountID: "d1", verdict: .review, firstFlaggedAt: at(minutes: 5), exchangesBeforeFlag: 3, engineCampaign: "E1"),
            "d2": AccountOutcome(accountID: "d2", verdict: .review, firstFlaggedAt: at(minutes: 5), exchangesBeforeFlag: 3),
            "d3": AccountOutcome(accountID: "d3", verdict: .block, firstFlaggedAt: at(minutes: 5), exchangesBeforeFlag: 3),
            // The allowlisted partner was blocked: a violation.
            "p1": AccountOutcome(accountID: "p1", verdict: .throttle, firstFlaggedAt: at(minutes: 1), exchangesBeforeFlag: 1),
        ]
        return Evaluation.evaluate(labels: labels, allowlisted: ["p1"], traffic: traffic, outcomes: outcomes)
    }

    @Test func campaignRecallExposureAndTimeToFlag() throws {
        let r = handBuiltCase()
        #expect(r.campaigns.map(\.campaign) == ["c1", "c2"])
        let c1 = try #require(r.campaigns.first)
        #expect(c1.accounts == 4)
        #expect(c1.flagged == 3)
        #expect(c1.recall == 0.75)
        #expect(c1.blocked == 1)
        #expect(c1.throttled == 1)
        #expect(c1.exchanges == 400)
        // 20 + 50 + 100 + 100 (a4 never flagged) = 270 of 400.
        #expect(c1.exchangesServedBeforeFlag == 270)
        #expect(c1.shareServedBeforeFlag == 270.0 / 400.0)
        // First exchange at minute 0, first flag (a2) at minute 60.
        #expect(c1.secondsToFirstFlag == 3600)
        let c2 = r.campaigns[1]
        #expect(c2.recall == 0)
        #expect(c2.shareServedBeforeFlag == 1)
        #expect(c2.secondsToFirstFlag == nil)
        #expect(r.attackAccounts == 5)
    }

    @Test func falsePositivesPerPersonaAndAllowlist() throws {
        let r = handBuiltCase()
        let dev = try #require(r.personas.first { $0.persona == "individual-developer" })
        // The silent account sent nothing and is not counted.
        #expect(dev.accounts == 4)
        #expect(dev.flagged == 3)
        #expect(dev.review == 2)
        #expect(dev.throttledOrBlocked == 1)
        #expect(dev.throttledOrBlockedAccounts == ["d3"])
        #expect(r.text.contains("individual-developer throttled or blocked: d3"))
        #expect(dev.falsePositiveRate == 0.75)
        let partner = try #require(r.personas.first { $0.persona == "licensed-distillation-partner" })
        #expect(partner.falsePositiveRate == 1)
        #expect(r.allowlistViolations == ["p1"])
        #expect(r.unlabelledAccounts == 1)
        #expect(r.exchanges == 400 + 50 + 40 + 1000 + 3)
    }

    @Test func groupingPurityAndSplits() {
        let g = handBuiltCase().grouping
        #expect(g.engineCampaigns == 2)
        #expect(g.groupedAccounts == 4)
        #expect(g.groupedAttackAccounts == 3)
        // E1 = {a1, a2, d1}: majority c1 (2); E2 = {a3}: 1. Purity 3 of 4.
        #expect(g.purity == 0.75)
        // c1 is spread over E1 and E2.
        #expect(g.campaignsSplit == 1)
        #expect(g.campaignsGrouped == 1)
        #expect(g.trueCampaigns == 2)
    }

    @Test func nothingGroupedIsReportedAsSuch() {
        let labels = [LabelRecord(accountID: "a", label: .attack, campaign: "c", persona: "agentic-hydra")]
        let r = Evaluation.evaluate(
            labels: labels, allowlisted: [], traffic: ["a": AccountTraffic(exchanges: 5, firstTime: t0)], outcomes: [:])
        #expect(r.grouping.purity == nil)
        #expect(r.grouping.groupedAttackAccounts == 0)
        #expect(r.campaigns.first?.recall == 0)
        #expect(r.allowlistViolations.isEmpty)
        #expect(r.text.contains("0 of 1 attack account grouped"))
        #expect(r.text.hasPrefix("Evaluation: 5 exchanges from 1 account (1 attack)."))
    }

    @Test func evaluationRunUsesTheScannerAndCountsEveryExchange() {
        let plan = ScenarioPlan(scenario: .mixed, scale: 1, seed: 2)
        let (report, scan) = EvaluationRun.run(plan: plan)
        var stream = plan.makeTraffic()
        var n = 0
        while stream.next() != nil { n += 1 }
        #expect(report.exchanges == n)
        #expect(scan.input.exchanges == n)
        #expect(report.campaigns.count == 10)
        #expect(report.personas.count == Persona.allCases.filter { !$0.isAttack }.count)
        #expect(report.allowlistViolations.isEmpty)
    }

    @Test func theSimulatedHydraIsGroupedPureAndNoLegitimateAccountIsThrottled() {
        let (report, _) = EvaluationRun.run(plan: ScenarioPlan(scenario: .mixed, scale: 1, seed: 1))
        let hydra = report.campaigns.first { $0.campaign == "agentic-hydra-1" }
        #expect(hydra?.recall == 1)
        #expect(report.grouping.engineCampaigns >= 1)
        #expect(report.grouping.purity == 1)
        #expect(report.grouping.campaignsSplit == 0)
        #expect(report.personas.allSatisfy { $0.throttledOrBlocked == 0 })
    }

    @Test func evaluatingWrittenFilesGivesTheSameResultAsStreaming() throws {
        let plan = ScenarioPlan(scenario: .mixed, scale: 1, seed: 8)
        let directory = "/tmp/distillwatch-eval-test-\(plan.seed)"
        try ScenarioWriter.write(plan, directory: directory)
        var statistics = IngestStatistics()
        let (fromFiles, _) = try EvaluationRun.run(
            traffic: .file(directory + "/" + ScenarioWriter.trafficFileName),
            accounts: .file(directory + "/" + ScenarioWriter.accountsFileName),
            labels: .file(directory + "/" + ScenarioWriter.labelsFileName), options: IngestOptions(), statistics: &statistics)
        let (streamed, _) = EvaluationRun.run(plan: plan)
        #expect(statistics.malformedCount == 0)
        #expect(statistics.labelRecords == plan.labels.count && statistics.accountRecords == plan.accounts.count)
        #expect(fromFiles.exchanges == streamed.exchanges)
        #expect(fromFiles.campaigns == streamed.campaigns)
        #expect(fromFiles.personas == streamed.personas)
        #expect(fromFiles.allowlistViolations == streamed.allowlistViolations)
    }
}
