import Foundation
import Testing
@testable import DistillWatchCore

/// Each behaviour signal on hand-built traffic: a positive, and a negative that differs in
/// only the behaviour the signal measures.
@Suite struct BehaviourSignalTests {
    @Test func volumeRelativeToTierAndAge() {
        var engine = DetectionEngine()
        let created = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
        engine.register(AccountRecord(accountID: "new-free", created: created, tier: "free"))
        engine.register(AccountRecord(accountID: "old-enterprise", created: created.adding(seconds: -400 * 86_400), tier: "enterprise"))
        var clock = ManualClock()
        for _ in 0..<2_000 {
            clock.advance(seconds: 15)
            engine.observe(exchange("new-free", at: clock.now))
            engine.observe(exchange("old-enterprise", at: clock.now))
        }
        // 2,000 exchanges in 8.3 h extrapolate to ~5,800/day against 10/day for a new free
        // account: more than a hundredfold.
        #expect(value(engine, "new-free", .volume) == 1)
        #expect(value(engine, "old-enterprise", .volume) == 0)
        let detail = engine.readings(for: "new-free").first { $0.kind == .volume }!.detail
        #expect(detail.contains("exchanges/day"))
    }

    @Test func outputVolumeCountsTokensNotRequests() {
        var engine = DetectionEngine()
        var clock = ManualClock()
        for _ in 0..<100 {
            clock.advance(seconds: 300)
            engine.observe(exchange("long-answers", at: clock.now, output: 60_000))
            engine.observe(exchange("short-answers", at: clock.now, output: 50))
        }
        #expect(value(engine, "long-answers", .outputVolume) > 0.9)
        #expect(value(engine, "short-answers", .outputVolume) == 0)
        #expect(value(engine, "long-answers", .volume) == value(engine, "short-answers", .volume))
    }

    @Test func roundTheClockActivity() {
        var engine = DetectionEngine()
        var clock = ManualClock()
        var rng = SeededGenerator(seed: 7)
        // Three days: one account every hour, the other only 9:00 to 17:00 UTC.
        for _ in 0..<(72 * 6) {
            clock.advance(seconds: 600)
            engine.observe(exchange("always-on", at: clock.now.adding(seconds: Double.random(in: 0..<60, using: &rng))))
            if (9..<17).contains(clock.now.hourOfDay) {
                engine.observe(exchange("office-hours", at: clock.now))
            }
        }
        #expect(value(engine, "always-on", .roundTheClock) > 0.95)
        #expect(value(engine, "office-hours", .roundTheClock) == 0)
        // Under 48 hours of history the signal stays silent.
        var young = DetectionEngine()
        var c2 = ManualClock()
        for _ in 0..<(40 * 6) {
            c2.advance(seconds: 600)
            young.observe(exchange("always-on", at: c2.now))
        }
        #expect(value(young, "always-on", .roundTheClock) == 0)
    }

    @Test func machineLikeRegularity() {
        var engine = DetectionEngine()
        var rng = SeededGenerator(seed: 42)
        var regular = ManualClock()
        var poisson = ManualClock()
        for _ in 0..<200 {
            regular.advance(seconds: 30 + Double.random(in: -1...1, using: &rng))
            engine.observe(exchange("cron", at: regular.now))
            // Exponential gaps with a 30 s mean: a coefficient of variation of about 1.
            let u = Double.random(in: Double.ulpOfOne..<1, using: &rng)
            poisson.advance(seconds: -30 * log(u))
            engine.observe(exchange("person", at: poisson.now))
        }
        #expect(value(engine, "cron", .timingRegularity) == 1)
        #expect(value(engine, "person", .timingRegularity) < 0.15)
    }

    @Test func parameterFingerprintAtModelLimit() {
        var policy = Policy.default
        policy.modelMaxTokens["model-a"] = 32_000
        var engine = DetectionEngine(policy: policy)
        var clock = ManualClock()
        var rng = SeededGenerator(seed: 3)
        for i in 0..<100 {
            clock.advance(seconds: 200)
            engine.observe(exchange("harvester", at: clock.now, maxTokens: 32_000, temperature: 1.0, thinking: true, messages: 1))
            engine.observe(exchange("developer", at: clock.now, maxTokens: [1024, 4096, 2048][i % 3],
                                    temperature: Double.random(in: 0...1, using: &rng), thinking: i % 5 == 0,
                                    messages: 1 + i % 6))
        }
        #expect(value(engine, "harvester", .parameterFingerprint) > 0.95)
        #expect(value(engine, "developer", .parameterFingerprint) < 0.25)
        let detail = engine.readings(for: "harvester").first { $0.kind == .parameterFingerprint }!.detail
        #expect(detail.contains("max_tokens 32000 (model limit 32000) at the limit"))
        #expect(detail.contains("thinking on in 100%"))
    }

    @Test func maxTokensLimitFallsBackToLargestSeen() {
        // No configured limit: the largest max_tokens anyone requested stands in.
        var engine = DetectionEngine()
        var clock = ManualClock()
        for _ in 0..<30 {
            clock.advance(seconds: 60)
            engine.observe(exchange("pinned", at: clock.now, maxTokens: 16_000))
            engine.observe(exchange("modest", at: clock.now, maxTokens: 1_000))
        }
        let pinned = engine.readings(for: "pinned").first { $0.kind == .parameterFingerprint }!.detail
        let modest = engine.readings(for: "modest").first { $0.kind == .parameterFingerprint }!.detail
        #expect(pinned.contains("at the limit"))
        #expect(modest.contains("below the limit"))
    }

    @Test func modelPivotWithin24HoursOfRelease() {
        var engine = DetectionEngine()
        var clock = ManualClock()
        // Two days on model-a for everyone; then model-b appears.
        for _ in 0..<(48 * 4) {
            clock.advance(seconds: 900)
            engine.observe(exchange("pivoter", at: clock.now, model: "model-a"))
            engine.observe(exchange("steady", at: clock.now, model: "model-a"))
        }
        clock.advance(seconds: 60)
        engine.observe(exchange("someone-else", at: clock.now, model: "model-b"))
        for i in 0..<40 {
            clock.advance(seconds: 1800)
            engine.observe(exchange("pivoter", at: clock.now, model: i % 5 == 0 ? "model-a" : "model-b"))
            engine.observe(exchange("steady", at: clock.now, model: i == 10 ? "model-b" : "model-a"))
        }
        // Only the exchanges in the first 24 h count: 48 half-hour steps would pass it.
        #expect(abs(value(engine, "pivoter", .modelPivot) - 0.8) < 0.06)
        #expect(value(engine, "steady", .modelPivot) < 0.1)
        let detail = engine.readings(for: "pivoter").first { $0.kind == .modelPivot }!.detail
        #expect(detail.contains("model-b"))
    }

    @Test func modelsPresentFromTheStartAreNotReleases() {
        var engine = DetectionEngine()
        var clock = ManualClock()
        for i in 0..<200 {
            clock.advance(seconds: 600)
            engine.observe(exchange("user", at: clock.now, model: i < 20 ? "model-a" : "model-b"))
        }
        // model-b first appeared 3.3 h after the traffic began: inside the grace period.
        #expect(value(engine, "user", .modelPivot) == 0)
    }

    @Test func rateLimitPressure() {
        var engine = DetectionEngine()
        engine.register(AccountRecord(accountID: "pusher", tier: "free"))
        engine.register(AccountRecord(accountID: "throttled", tier: "free"))
        engine.register(AccountRecord(accountID: "calm", tier: "free"))
        let clock = ManualClock()
        for minute in 0..<30 {
            let start = clock.now.adding(seconds: Double(minute) * 60)
            // 17 requests a minute against a limit of 20: just under, every minute.
            for k in 0..<17 { engine.observe(exchange("pusher", at: start.adding(seconds: Double(k) * 3))) }
            for k in 0..<4 {
                engine.observe(exchange("throttled", at: start.adding(seconds: Double(k) * 10), status: k == 0 ? 200 : 429))
            }
            engine.observe(exchange("calm", at: start.adding(seconds: 30)))
        }
        #expect(value(engine, "pusher", .rateLimitPressure) == 1)
        #expect(value(engine, "throttled", .rateLimitPressure) == 1)
        #expect(value(engine, "calm", .rateLimitPressure) == 0)
        let detail = engine.readings(for: "throttled").first { $0.kind == .rateLimitPressure }!.detail
        #expect(detail.contains("75% of requests answered 429"))
    }

    @Test func stateIsBoundedWhateverTheVolume() {
        // The budget is 2.25 KB per account, behaviour, content and linkage profiles included.
        #expect(MemoryLayout<AccountState>.stride <= 1856)
        #expect(DetectionEngine.approximateBytesPerAccount < 2304)
    }
}
