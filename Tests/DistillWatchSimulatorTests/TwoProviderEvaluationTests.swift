import DistillWatchCore
import DistillWatchTestSupport
import Testing

@testable import DistillWatchSimulator

@Suite(.onTheHeavyLane) struct TwoProviderEvaluationTests {
    @Test func providerBStopsTheOperatorSoonerWithProviderAsIndicatorsAndHurtsNoHonestCustomer() {
        let r = TwoProviderEvaluation.run(scale: 0.03, seed: 1)
        #expect(r.operatorAccountsAtB >= 2)
        #expect(r.publishedAt != nil)
        #expect(r.indicators.keys.contains { $0.hasPrefix("prompt-template family") })
        #expect(r.servedBeforeFlagWith * 4 <= r.servedBeforeFlagWithout, "\(r.markdown)")
        #expect(r.flaggedWith >= r.flaggedWithout)
        #expect(r.falsePositivesCausedByIndicators == 0, "\(r.falsePositiveDetails)")
    }

    @Test func theOperatorsTemplateIsWordedPerAccount() {
        var a = SplitMix64(seed: 1), b = SplitMix64(seed: 99)
        let first = PromptGrammar.harnessTask(task: 7, wording: &a)
        let second = PromptGrammar.harnessTask(task: 7, wording: &b)
        #expect(first.contains("<reasoning>") && second.contains("<answer>"))
        #expect(first.hasSuffix(String(second.suffix(40))))
        // Accounts word the instruction differently; the task (and its text) is the item's.
        let openings = Set((0..<20).map { seed -> String in
            var w = SplitMix64(seed: UInt64(seed))
            return String(PromptGrammar.harnessTask(task: 7, wording: &w).prefix(60))
        })
        #expect(openings.count >= 5)
    }
}
