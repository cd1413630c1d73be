import Testing
@testable import DistillWatchCore

/// The countermeasure policy (Documentation/Countermeasures.md): graduated directives that
/// escalate with the score, signal rules, merging, exemptions, and the pieces gateways use
/// (rate limiter, refusals, reasoning redaction).
@Suite struct CountermeasurePolicyTests {
    static func subject(_ verdict: Verdict, _ score: Double, readings: [SignalReading] = [], verified: Bool = false,
                        campaign: Bool = false, exempt: Bool = false) -> CountermeasureSubject {
        CountermeasureSubject(verdict: verdict, score: score, readings: readings, verified: verified,
                              flaggedCampaignMember: campaign, exempt: exempt)
    }

    static func reading(_ kind: SignalKind, _ value: Double) -> SignalReading {
        SignalReading(kind: kind, value: value, contribution: value * 0.4, detail: "")
    }

    @Test func theDefaultEscalatesWithTheScoreAndOnlyBlockBlocks() {
        let p = CountermeasurePolicy.default
        #expect(p.countermeasures(for: Self.subject(.allow, 0.4)).isEmpty)

        let review = p.countermeasures(for: Self.subject(.review, 0.55))
        #expect(review.directives == [.summarizeReasoning])

        let highReview = p.countermeasures(for: Self.subject(.review, 0.7))
        #expect(highReview.directives == [.summarizeReasoning, .capMaxTokens(8_192), .denyPrefill])

        let throttle = p.countermeasures(for: Self.subject(.throttle, 0.8))
        #expect(throttle.directives == [.withholdReasoning, .capMaxTokens(4_096), .denyPrefill, .requireVerification,
                                        .rateLimit(requestsPerMinute: 20)])
        #expect(throttle.applied.first { $0.directive == .capMaxTokens(4_096) }?.rule == "throttle")

        let highThrottle = p.countermeasures(for: Self.subject(.throttle, 0.88))
        #expect(highThrottle.contains(.disableThinking))
        #expect(highThrottle.requestsPerMinute == 5, "the stricter rate of the two rules")
        #expect(highThrottle.maxTokens == 4_096, "the lower cap of the review and throttle rules")

        let block = p.countermeasures(for: Self.subject(.block, 0.95))
        #expect(block.directives == [.block], "a block answers block alone")

        // No verdict short of block ever blocks, whatever the score and signals.
        for verdict in [Verdict.allow, .review, .throttle] {
            for score in stride(from: 0.0, through: 1.0, by: 0.05) {
                let all = SignalKind.allCases.map { Self.reading($0, 1) }
                let m = p.countermeasures(for: Self.subject(verdict, score, readings: all, campaign: true))
                #expect(!m.contains(.block), "\(verdict) at \(score)")
            }
        }
    }

    @Test func signalRulesFitTheEvidence() {
        let p = CountermeasurePolicy.default
        let cot = p.countermeasures(for: Self.subject(.review, 0.55, readings: [Self.reading(.cotElicitation, 0.8)]))
        #expect(cot.reasoning == .withhold)
        #expect(!cot.contains(.summarizeReasoning), "withholding replaces summarising")
        #expect(cot.applied.first { $0.directive == .withholdReasoning }?.rule == "chain-of-thought harvesting")

        let weakCot = p.countermeasures(for: Self.subject(.review, 0.55, readings: [Self.reading(.cotElicitation, 0.3)]))
        #expect(weakCot.reasoning == .summarize)

        let replay = p.countermeasures(for: Self.subject(.review, 0.55, readings: [Self.reading(.reasoningReplay, 0.4)]))
        #expect(replay.contains(.denyPrefill) && replay.reasoning == .withhold)

        let pinned = p.countermeasures(for: Self.subject(.review, 0.55, readings: [Self.reading(.parameterFingerprint, 0.9)]))
        #expect(pinned.maxTokens == 4_096)

        let shared = p.countermeasures(for: Self.subject(.review, 0.55, readings: [Self.reading(.keySharing, 0.9)]))
        #expect(shared.contains(.requireVerification))

        let member = p.countermeasures(for: Self.subject(.review, 0.5, campaign: true))
        #expect(member.contains(.requireVerification))
        // A signal rule does not act on an allowed account.
        #expect(p.countermeasures(for: Self.subject(.allow, 0.3, readings: [Self.reading(.cotElicitation, 1)])).isEmpty)
    }

    @Test func verificationAndExemptionsLiftDirectives() {
        let p = CountermeasurePolicy.default
        let verified = p.countermeasures(for: Self.subject(.throttle, 0.8, verified: true, campaign: true))
        #expect(!verified.contains(.requireVerification))
        #expect(verified.contains(.withholdReasoning), "verification lifts only the verification directive")
        #expect(p.countermeasures(for: Self.subject(.review, 0.6, exempt: true)).isEmpty)
        var off = p
        off.enabled = false
        #expect(off.countermeasures(for: Self.subject(.block, 1)).isEmpty)
    }

    @Test func ruleConditionsAllHold() {
        let rule = CountermeasureRule(name: "content", verdict: .review, score: 0.6, family: .content, atLeast: 0.5,
                                      unverified: true, directives: [.withholdReasoning])
        #expect(rule.problem == nil)
        let content = [Self.reading(.rubricGrading, 0.7)]
        #expect(rule.holds(for: Self.subject(.review, 0.65, readings: content)))
        #expect(!rule.holds(for: Self.subject(.review, 0.55, readings: content)), "score below")
        #expect(!rule.holds(for: Self.subject(.review, 0.65, readings: [Self.reading(.volume, 0.9)])), "no content signal")
        #expect(!rule.holds(for: Self.subject(.review, 0.65, readings: content, verified: true)), "verified")
        #expect(!rule.holds(for: Self.subject(.allow, 0.65, readings: content)), "verdict below")

        let blocks = CountermeasureRule(name: "b", verdict: .throttle, directives: [.block])
        #expect(blocks.problem?.contains("never blocks on its own") == true)
        #expect(CountermeasureRule(name: "e", directives: []).problem == "has no directives")
    }

    @Test func mergingKeepsTheStrictestOfEachKind() {
        let merged = Countermeasures(merging: [
            AppliedDirective(directive: .capMaxTokens(8_000), rule: "a"),
            AppliedDirective(directive: .rateLimit(requestsPerMinute: 30), rule: "a"),
            AppliedDirective(directive: .capMaxTokens(2_000), rule: "b"),
            AppliedDirective(directive: .rateLimit(requestsPerMinute: 60), rule: "b"),
            AppliedDirective(directive: .summarizeReasoning, rule: "b"),
        ])
        #expect(merged.directives == [.summarizeReasoning, .capMaxTokens(2_000), .rateLimit(requestsPerMinute: 30)])
        #expect(merged.applied.map(\.rule) == ["b", "b", "a"])
        #expect(merged.headerValue == "summarize_reasoning, cap_max_tokens=2000, rate_limit=30/min")
        #expect(merged.entries.map(\.maxTokens) == [nil, 2_000, nil])
    }

    @Test func directivesTakeTheirNumbersOnly() {
        #expect(Directive(kind: .capMaxTokens, parameter: 10) == .capMaxTokens(10))
        #expect(Directive(kind: .capMaxTokens, parameter: nil) == nil)
        #expect(Directive(kind: .capMaxTokens, parameter: 0) == nil)
        #expect(Directive(kind: .rateLimit, parameter: Directive.maximumParameter + 1) == nil)
        #expect(Directive(kind: .block, parameter: 3) == nil)
        #expect(Directive(kind: .denyPrefill, parameter: nil) == .denyPrefill)
    }
}

@Suite struct GatewayEnforcementTests {
    static let t0 = Timestamp(millisecondsSinceEpoch: 1_780_000_000_000)

    static func at(_ ms: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + ms) }

    /// GCRA: a quiet account may send its minute's worth at once, then one every 60/n s.
    @Test func theRateLimiterAllowsABurstThenSpacesRequests() {
        var limiter = RequestRateLimiter()
        for i in 0..<6 { #expect(limiter.admit("a", requestsPerMinute: 6, at: Self.t0) == .admitted, "request \(i)") }
        #expect(limiter.admit("a", requestsPerMinute: 6, at: Self.t0) == .limited(retryAfterMilliseconds: 10_000))
        #expect(limiter.admit("a", requestsPerMinute: 6, at: Self.at(9_999)) == .limited(retryAfterMilliseconds: 1))
        #expect(limiter.admit("a", requestsPerMinute: 6, at: Self.at(10_000)) == .admitted)
        #expect(limiter.admit("a", requestsPerMinute: 6, at: Self.at(10_000)) != .admitted)
        // Accounts are independent; a refused request does not use up the rate.
        #expect(limiter.admit("b", requestsPerMinute: 6, at: Self.at(10_000)) == .admitted)
        #expect(limiter.admit("a", requestsPerMinute: 6, at: Self.at(20_000)) == .admitted)
        // Over a long run, the admitted rate is the limit.
        var admitted = 0
        for s in 0..<600 where limiter.admit("c", requestsPerMinute: 6, at: Self.at(Int64(s) * 1_000)) == .admitted { admitted += 1 }
        #expect(admitted == 6 + 59, "a burst of 6, then one every 10 s over 590 s")
        limiter.prune(before: Self.at(700_000))
        #expect(limiter.count == 0)
    }

    @Test func refusalsComeInOrderOfSeverity() {
        let blocked = Countermeasures(merging: [AppliedDirective(directive: .block, rule: "b")])
        #expect(blocked.refusal(for: GatewayRequestFacts(prefill: true)) == .blocked)
        let several = Countermeasures(merging: [.requireVerification, .denyPrefill, .withholdReasoning].map {
            AppliedDirective(directive: $0, rule: "r")
        })
        #expect(several.refusal(for: GatewayRequestFacts(prefill: true)) == .verificationRequired)
        let prefill = Countermeasures(merging: [AppliedDirective(directive: .denyPrefill, rule: "r")])
        #expect(prefill.refusal(for: GatewayRequestFacts(prefill: true)) == .prefillDenied)
        #expect(prefill.refusal(for: GatewayRequestFacts(prefill: false)) == nil)
        #expect(prefill.refusal(for: GatewayRequestFacts()) == nil, "unknown prefill is not refused")
        #expect(GatewayRefusal.rateLimited(retryAfterMilliseconds: 5).status == 429)
        #expect(GatewayRefusal.prefillDenied.status == 403 && GatewayRefusal.prefillDenied.code == "prefill_not_allowed")
    }
}

@Suite struct ReasoningRedactionTests {
    @Test func inlineReasoningBlocksAreReplaced() throws {
        let text = "<think>\nStep 1: add.\nStep 2: check.\n</think>\n\nThe answer is 4."
        let r = try #require(ReasoningRedaction.redact(text) { _ in "" })
        #expect(r.text == "\n\nThe answer is 4.")
        #expect(r.reasoning == "Step 1: add.\nStep 2: check.")
        #expect(r.blocks == 1)

        let summary = try #require(ReasoningRedaction.redact(text) { "<think>[\($0.count) chars]</think>" })
        #expect(summary.text == "<think>[27 chars]</think>\n\nThe answer is 4.")
    }

    @Test func tagsOfAnyCaseSeveralBlocksAndAnUnclosedOne() throws {
        let text = "A <THINKING>one</THINKING> B <reasoning>two</reasoning> C <think>cut at max_tokens"
        let r = try #require(ReasoningRedaction.redact(text) { _ in "·" })
        #expect(r.text == "A · B · C ·")
        #expect(r.reasoning == "one\n\ntwo\n\ncut at max_tokens")
        #expect(r.blocks == 3)
        #expect(ReasoningRedaction.redact("no reasoning here, just <b>bold</b> and a < sign") { _ in "" } == nil)
        // A replacement that itself holds a tag is not searched again.
        let loop = try #require(ReasoningRedaction.redact("<think>x</think><think>y</think>") { _ in "<think>s</think>" })
        #expect(loop.text == "<think>s</think><think>s</think>" && loop.blocks == 2)
        // Multibyte text around and inside blocks survives.
        let utf = try #require(ReasoningRedaction.redact("é<think>ü → ∑</think>日本") { _ in "" })
        #expect(utf.text == "é日本" && utf.reasoning == "ü → ∑")
    }
}
