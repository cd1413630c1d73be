import Testing
@testable import DistillWatchCore

@Suite struct EngineTests {
    /// A free-tier account that sends far too much, pinned parameters, around the clock.
    func harvest(_ engine: inout DetectionEngine, account: String, count: Int, from start: Timestamp) -> [Decision] {
        var decisions: [Decision] = []
        var t = start
        for _ in 0..<count {
            t = t.adding(seconds: 20)
            decisions.append(engine.observe(exchange(account, at: t, output: 8_000, maxTokens: 32_000,
                                                     temperature: 1, thinking: true, messages: 1)))
        }
        return decisions
    }

    @Test func firstFlagIsRecordedOnceWithTheExchangesServedBeforeIt() throws {
        var engine = DetectionEngine()
        engine.register(AccountRecord(accountID: "h", created: ManualClock().now, tier: "free"))
        let decisions = harvest(&engine, account: "h", count: 400, from: ManualClock().now)
        let firstFlag = try #require(decisions.firstIndex { $0.verdict.isFlagged })
        #expect(decisions[firstFlag].newlyFlagged)
        #expect(decisions.filter(\.newlyFlagged).count == 1)
        // Not before the policy's minimum of 20 exchanges.
        #expect(firstFlag + 1 >= Policy.default.minimumExchanges)
        let summary = try #require(engine.summary(for: "h"))
        #expect(summary.exchangesBeforeFlag == firstFlag + 1)
        #expect(summary.firstFlaggedAt == ManualClock().now.adding(seconds: Double(firstFlag + 1) * 20))
        #expect(summary.verdict >= .throttle)
    }

    @Test func allowlistedAccountsAreAlwaysAllowed() {
        var engine = DetectionEngine()
        engine.register(AccountRecord(accountID: "partner", tier: "free", allowlisted: true))
        engine.register(AccountRecord(accountID: "stranger", tier: "free"))
        let partner = harvest(&engine, account: "partner", count: 300, from: ManualClock().now)
        let stranger = harvest(&engine, account: "stranger", count: 300, from: ManualClock().now)
        #expect(partner.allSatisfy { $0.verdict == .allow && $0.allowlisted })
        #expect(stranger.last!.verdict.isFlagged)
        // Scores are still computed, so the report can say what the allowlist suppressed.
        #expect(partner.last!.score == stranger.last!.score)
        let report = ScanReport(engine: engine, generatedAt: ManualClock().now, includeAllAccounts: false)
        let listed = report.accounts.first { $0.accountID == "partner" }
        #expect(listed?.allowlisted == true)
        #expect(listed?.verdict == .allow)
    }

    @Test func policyAllowlistsByAccountPaymentAndDomain() {
        var policy = Policy.default
        policy.allowlist = .init(accounts: ["a1"], paymentFingerprints: ["pf-1"], emailDomains: ["partner.example"])
        var engine = DetectionEngine(policy: policy)
        engine.register(AccountRecord(accountID: "a2", paymentFingerprint: "pf-1"))
        engine.register(AccountRecord(accountID: "a3", emailDomain: "Partner.Example"))
        engine.register(AccountRecord(accountID: "a4", tier: "free"))
        for id in ["a1", "a2", "a3", "a4"] {
            _ = harvest(&engine, account: id, count: 300, from: ManualClock().now)
        }
        #expect(engine.decision(for: "a1").allowlisted)
        #expect(engine.decision(for: "a2").allowlisted)
        #expect(engine.decision(for: "a3").allowlisted)
        #expect(!engine.decision(for: "a4").allowlisted)
        #expect(engine.decision(for: "a4").verdict.isFlagged)
    }

    @Test func thresholdsAndWeightsDecideTheVerdict() {
        var lenient = Policy.default
        lenient.thresholds = .init(review: 0.99, throttle: 0.995, block: 0.999)
        var muted = Policy.default
        for k in SignalKind.allCases { muted.setWeight(0, for: k) }
        for (policy, expectFlag) in [(Policy.default, true), (lenient, false), (muted, false)] {
            var engine = DetectionEngine(policy: policy)
            engine.register(AccountRecord(accountID: "h", tier: "free"))
            let d = harvest(&engine, account: "h", count: 300, from: ManualClock().now)
            #expect(d.last!.verdict.isFlagged == expectFlag)
        }
    }

    @Test func minimumExchangesGatesFlagging() {
        var policy = policyWithOnly(.outputVolume)
        policy.minimumExchanges = 50
        var engine = DetectionEngine(policy: policy)
        var t = ManualClock().now
        var decisions: [Decision] = []
        for _ in 0..<60 {
            t = t.adding(seconds: 1)
            decisions.append(engine.observe(exchange("x", at: t, output: 100_000)))
        }
        #expect(decisions[48].verdict == .allow)
        #expect(decisions[49].verdict == .block)
    }

    @Test func olderExchangeIsCountedAtTheAccountsLatestTime() {
        var engine = DetectionEngine()
        let t = ManualClock().now
        engine.observe(exchange("a", at: t.adding(seconds: 100)))
        engine.observe(exchange("a", at: t))
        #expect(engine.outOfOrderExchanges == 1)
        #expect(engine.summary(for: "a")?.lastSeen == t.adding(seconds: 100))
    }

    @Test func signalFamiliesWithoutData() {
        var engine = DetectionEngine()
        engine.observe(Exchange(time: ManualClock().now, accountID: "bare"))
        let missing = Set(engine.signalFamiliesWithoutData)
        #expect(missing == [.tokens, .parameters, .models, .status, .accounts, .network, .content, .reasoningReplay, .cost, .sharedIndicators])
        engine.observe(Exchange(time: ManualClock().now, accountID: "bare", model: "m", outputTokens: 3, status: 200,
                                clientIP: "192.0.2.1", prompt: ""))
        #expect(Set(engine.signalFamiliesWithoutData) == [.parameters, .accounts, .reasoningReplay, .cost, .sharedIndicators])
        engine.observe(Exchange(time: ManualClock().now, accountID: "bare", reasoningReplayOf: "req-0", costUSD: 0.01))
        #expect(Set(engine.signalFamiliesWithoutData) == [.parameters, .accounts, .sharedIndicators])
        // Indicators from other providers are the shared_indicator signal's data.
        engine.replaceSharedIndicators(SharedIndicatorSet([SharedIndicator(
            id: "indicator--00000000-0000-4000-8000-000000000009", source: "p", comparisons: [.autonomousSystem(1)],
            validFrom: ManualClock().now)]))
        #expect(Set(engine.signalFamiliesWithoutData) == [.parameters, .accounts])
    }
}

@Suite struct AnalystLabelTests {
    func pinned(_ engine: inout DetectionEngine, _ account: String, count: Int, from start: Timestamp, output: Int = 8_000) -> Timestamp {
        var t = start
        for _ in 0..<count {
            t = t.adding(seconds: 20)
            engine.observe(exchange(account, at: t, output: output, maxTokens: 32_000, temperature: 1, thinking: true, messages: 1))
        }
        return t
    }

    @Test func legitimateLabelDismissesTheSameEvidence() {
        var engine = DetectionEngine()
        engine.register(AccountRecord(accountID: "a", tier: "free"))
        var t = pinned(&engine, "a", count: 300, from: ManualClock().now)
        #expect(engine.decision(for: "a").verdict.isFlagged)
        let after = engine.applyLabel(.legitimate, to: "a", at: t)
        #expect(after.verdict == .allow)
        #expect(engine.label(for: "a") == .legitimate)
        // The same behaviour goes on: still allowed.
        t = pinned(&engine, "a", count: 200, from: t)
        #expect(engine.decision(for: "a").verdict == .allow)
        let detail = engine.readings(for: "a").first { $0.kind == .parameterFingerprint }!.detail
        #expect(detail.contains("analyst dismissed"))
    }

    @Test func legitimateLabelDoesNotHideNewEvidence() {
        var engine = DetectionEngine()
        engine.register(AccountRecord(accountID: "a", tier: "free"))
        // Modest first: some output volume, nothing else.
        var t = ManualClock().now
        for _ in 0..<100 {
            t = t.adding(seconds: 600)
            engine.observe(exchange("a", at: t, output: 2_000))
        }
        engine.applyLabel(.legitimate, to: "a", at: t)
        // Then a new pattern: pinned parameters, far more volume, gaps like a metronome.
        _ = pinned(&engine, "a", count: 600, from: t, output: 30_000)
        #expect(engine.decision(for: "a").verdict.isFlagged)
    }

    @Test func confirmedAttackBlocks() {
        var engine = DetectionEngine()
        let t = ManualClock().now
        engine.observe(exchange("quiet", at: t))
        let d = engine.applyLabel(.confirmedAttack, to: "quiet", at: t)
        #expect(d.verdict == .block)
        engine.observe(exchange("quiet", at: t.adding(seconds: 5)))
        #expect(engine.decision(for: "quiet").verdict == .block)
        let report = ScanReport(engine: engine, generatedAt: t, includeAllAccounts: false)
        #expect(report.accounts.first?.analystLabel == .confirmedAttack)
    }
}

/// The engine is total: whatever values a caller builds, it refuses what is outside
/// RecordLimits and never traps on what is inside, however long the account's history.
@Suite struct EngineTotalityTests {
    static let t0 = Timestamp(rfc3339: "2026-03-02T00:00:00Z")!

    @Test func outOfRangeExchangesAreRefusedAndCounted() {
        var engine = DetectionEngine()
        for e in [
            Exchange(time: Timestamp(millisecondsSinceEpoch: .min), accountID: "a"),
            Exchange(time: Timestamp(rfc3339: "1969-12-01T00:00:00Z")!, accountID: "a"),
            Exchange(time: Self.t0, accountID: "a", outputTokens: .max),
            Exchange(time: Self.t0, accountID: "a", inputTokens: -7),
            Exchange(time: Self.t0, accountID: "a", status: -1),
            Exchange(time: Self.t0, accountID: "a", latencyMilliseconds: .infinity),
            Exchange(time: Self.t0, accountID: ""),
        ] {
            #expect(engine.observe(e).verdict == .allow)
        }
        #expect(engine.refusedExchanges == 7)
        #expect(engine.exchangesObserved == 0)
        #expect(!engine.knows("a"))
        engine.register(AccountRecord(accountID: "b", created: Timestamp(millisecondsSinceEpoch: .min)))
        #expect(engine.refusedAccountRecords == 1 && !engine.knows("b"))
    }

    @Test func countersSaturateInsteadOfTrapping() {
        var x: Int32 = .max - 1
        x.incrementSaturating()
        x.incrementSaturating()
        #expect(x == .max)
        var y: Int64 = .max - 5
        y.addSaturating(10)
        #expect(y == .max)
        #expect(Int64.min.addingSaturating(-1) == .min)
        #expect(UInt32.max.multipliedSaturating(by: 2) == .max)
        #expect(floorModulo(-1, 24) == 23 && floorModulo(-744, 24) == 0 && floorModulo(25, 24) == 1)
    }

    @Test func maximalValuesAtTheEdgesOfTimeDoNotTrap() {
        var scanner = TrafficScanner(toleranceMilliseconds: 0)
        let first = RecordLimits.earliestTime
        let last = Timestamp(millisecondsSinceEpoch: RecordLimits.endOfTime.millisecondsSinceEpoch - 1)
        for (k, time) in [first, first.adding(seconds: 1), last.adding(seconds: -1), last].enumerated() {
            for _ in 0..<50 {
                scanner.observe(Exchange(time: time, accountID: "acct-\(k % 2)", model: "m", inputTokens: RecordLimits.maximumTokens,
                                         outputTokens: RecordLimits.maximumTokens, reasoningTokens: RecordLimits.maximumTokens,
                                         maxTokens: RecordLimits.maximumTokens, temperature: RecordLimits.maximumTemperature,
                                         status: 429, latencyMilliseconds: RecordLimits.maximumLatencyMilliseconds,
                                         asn: RecordLimits.asns.upperBound))
            }
        }
        scanner.applyLabel(.confirmedAttack, to: "acct-0", at: last)
        let report = scanner.finish(generatedAt: last)
        #expect(report.input.exchanges == 200)
        #expect(report.accounts.first { $0.accountID == "acct-0" }?.outputTokens == 100 * RecordLimits.maximumTokens)
    }

    @Test func aConfirmedAttackStaysBlockedWhenARecordAllowlistsIt() {
        var engine = DetectionEngine()
        engine.observe(Exchange(time: Self.t0, accountID: "acct-bad"))
        engine.applyLabel(.confirmedAttack, to: "acct-bad", at: Self.t0)
        #expect(engine.decision(for: "acct-bad").verdict == .block)
        engine.register(AccountRecord(accountID: "acct-bad", allowlisted: true))
        #expect(engine.decision(for: "acct-bad").verdict == .block)
        engine.observe(Exchange(time: Self.t0.adding(seconds: 1), accountID: "acct-bad"))
        #expect(engine.decision(for: "acct-bad").verdict == .block)
    }
}

/// Found by `fuzz-engine`: an exchange built with a time near Int64.min reached the reorder
/// buffer before the engine refused it, and the watermark subtraction trapped. The scanner
/// now refuses it before the buffer, so it cannot move the watermark either.
@Suite struct ReorderBufferFuzzRegressionTests {
    @Test func anOutOfRangeTimeNeitherTrapsNorMovesTheWatermark() {
        var scanner = TrafficScanner(toleranceMilliseconds: 60_000)
        let t0 = Timestamp(rfc3339: "2026-03-02T00:00:00Z")!
        scanner.observe(Exchange(time: t0, accountID: "a"))
        scanner.observe(Exchange(time: Timestamp(millisecondsSinceEpoch: .min + 5), accountID: "a"))
        scanner.observe(Exchange(time: Timestamp(millisecondsSinceEpoch: .max), accountID: "b"))
        // Still buffered: the refused times did not push the watermark past t0.
        #expect(scanner.buffer.count == 1)
        #expect(scanner.engine.refusedExchanges == 2)
        scanner.observe(Exchange(time: t0.adding(seconds: 30), accountID: "a"))
        let report = scanner.finish(generatedAt: t0)
        #expect(report.input.exchanges == 2 && report.input.lateExchanges == 0)
        // The buffer on its own saturates instead of trapping.
        var buffer = ReorderBuffer(toleranceMilliseconds: .max)
        var released = 0
        buffer.push(Exchange(time: Timestamp(millisecondsSinceEpoch: .min), accountID: "x")) { _ in released += 1 }
        buffer.drain { _ in released += 1 }
        #expect(released == 1)
    }
}
