import DistillWatchTestSupport
import Testing
@testable import DistillWatchCore

/// The round-two signals (relay, reasoning replay, quota racing, plan value, sudden change)
/// and what lowers the old ones for honest 24/7 products and evaluation teams, each on
/// hand-built traffic beside its honest look-alike.
@Suite(.onTheHeavyLane) struct RoundTwoSignalTests {
    let sketcher = ContentSketcher(key: testKey)

    // MARK: Relay

    /// `count` exchanges 90 s apart whose system prompt is picked by `system(k)`.
    func systemPromptTraffic(_ engine: inout DetectionEngine, _ account: String, count: Int,
                             endUser: ((Int) -> String?)? = nil, system: (Int) -> String) {
        var t = ManualClock().now
        for k in 0..<count {
            t = t.adding(seconds: 90)
            var e = exchange(account, at: t)
            e.content = sketcher.features(prompt: "Customer message number \(k): where is my order?", system: system(k), toolCount: nil)
            e.endUserID = endUser?(k)
            engine.observe(e)
        }
    }

    /// Twenty products' system prompts (the normaliser folds numbers, so they differ in words).
    static let brands = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Cyberdyne",
                         "Soylent", "Wonka", "Aperture", "Gringotts", "Monarch", "Oscorp", "Pied", "Duff", "Krusty", "Nakatomi"]
    static let products = brands.map { "You are \($0)'s helpful support assistant for \($0) customers. Keep answers short." }

    @Test func relayingOtherProductsRequestsIsSeenAndAProductOrAPromptEngineerIsNot() {
        var engine = DetectionEngine()
        var rng = SeededGenerator(seed: 3)
        let picks = (0..<300).map { _ in rng.below(20) }
        systemPromptTraffic(&engine, "relay", count: 300) { Self.products[picks[$0]] }
        // One product's back end: one system prompt.
        systemPromptTraffic(&engine, "product", count: 300) { _ in Self.products[0] }
        // A developer trying 15 versions of a prompt, one after the other.
        systemPromptTraffic(&engine, "prompt-engineer", count: 300) { Self.products[$0 / 20] }
        // An app platform passing 100 returning end users with its hosted apps' prompts.
        engine.register(AccountRecord(accountID: "platform", tier: "enterprise", verified: true))
        systemPromptTraffic(&engine, "platform", count: 300, endUser: { "user-\($0 % 100)" }) { Self.products[picks[$0]] }

        #expect(value(engine, "relay", .relay) > 0.9)
        #expect(value(engine, "product", .relay) == 0)
        #expect(value(engine, "prompt-engineer", .relay) < 0.1)
        #expect(value(engine, "platform", .relay) < 0.25)
        let detail = engine.readings(for: "relay").first { $0.kind == .relay }!.detail
        #expect(detail.contains("distinct system prompts"))
    }

    // MARK: Reasoning replay

    @Test func reasoningBlocksServedToAnotherAccountAreForeignAndAToolLoopsOwnAreNot() {
        var engine = DetectionEngine()
        var t = ManualClock().now
        for k in 0..<40 {
            t = t.adding(seconds: 60)
            var served = exchange("victim", at: t, thinking: true)
            served.requestID = "req-victim-\(k)"
            engine.observe(served)
            // The agent sends back the block of its own previous step, a minute later.
            var step = exchange("agent", at: t, thinking: true)
            step.requestID = "req-agent-\(k)"
            if k > 0 { step.reasoningReplayOf = "req-agent-\(k - 1)" }
            engine.observe(step)
            var replay = exchange("replayer", at: t.adding(seconds: 30), thinking: true)
            replay.requestID = "req-replayer-\(k)"
            replay.reasoningReplayOf = "req-victim-\(k)"
            engine.observe(replay)
        }
        #expect(value(engine, "replayer", .reasoningReplay) == 1)
        #expect(value(engine, "agent", .reasoningReplay) == 0)
        let detail = engine.readings(for: "replayer").first { $0.kind == .reasoningReplay }!.detail
        #expect(detail.contains("40 first served to another account"))
    }

    @Test func ownBlocksFromAnOldSessionCountHalf() {
        var engine = DetectionEngine()
        var t = ManualClock().now
        for k in 0..<20 {
            t = t.adding(seconds: 60)
            var e = exchange("a", at: t, thinking: true)
            e.requestID = "old-\(k)"
            engine.observe(e)
        }
        t = t.adding(seconds: 86_400)
        for k in 0..<20 {
            t = t.adding(seconds: 60)
            var e = exchange("a", at: t, thinking: true)
            e.requestID = "new-\(k)"
            e.reasoningReplayOf = "old-\(k)"
            engine.observe(e)
        }
        // Every replay is stale: 0.5 per replay against 0.2 for full strength.
        #expect(value(engine, "a", .reasoningReplay) == 1)
        let detail = engine.readings(for: "a").first { $0.kind == .reasoningReplay }!.detail
        #expect(detail.contains("20 to this account more than 6 h earlier"))
    }

    // MARK: Quota racing

    @Test func aNewAccountAtItsLimitRacesAndAnOldOneOnlyPresses() {
        var engine = DetectionEngine()
        let start = ManualClock().now
        engine.register(AccountRecord(accountID: "new", created: start.adding(seconds: -86_400), tier: "free"))
        engine.register(AccountRecord(accountID: "old", created: start.adding(seconds: -300 * 86_400), tier: "free"))
        engine.register(AccountRecord(accountID: "new-verified", created: start.adding(seconds: -86_400), tier: "startup", verified: true))
        // Free tier: 20 requests/min; 18 a minute is past 80% (16).
        for minute in 0..<60 {
            for k in 0..<18 {
                let t = start.adding(seconds: Double(minute * 60 + k * 3))
                engine.observe(exchange("new", at: t))
                engine.observe(exchange("old", at: t))
            }
            for k in 0..<450 { engine.observe(exchange("new-verified", at: start.adding(seconds: Double(minute * 60) + Double(k) * 0.13))) }
        }
        #expect(value(engine, "new", .quotaRacing) == 1)
        #expect(value(engine, "old", .quotaRacing) == 0)
        #expect(value(engine, "old", .rateLimitPressure) == 1)
        #expect(abs(value(engine, "new-verified", .quotaRacing) - 0.3) < 1e-9)
    }

    /// A record opened after the account's first exchange (another clock or unit: `created`
    /// in 2099) leaves the age unknown: no quota racing, and the detail says why; within an
    /// hour it is clock skew and reads as age 0.
    @Test func anAccountOpenedAfterItsFirstExchangeHasNoAge() {
        var engine = DetectionEngine()
        let start = ManualClock().now
        engine.register(AccountRecord(accountID: "future", created: Timestamp(rfc3339: "2099-01-01T00:00:00Z")!, tier: "free"))
        engine.register(AccountRecord(accountID: "skewed", created: start.adding(seconds: 1_800), tier: "free"))
        for minute in 0..<60 {
            for k in 0..<18 {
                let t = start.adding(seconds: Double(minute * 60 + k * 3))
                engine.observe(exchange("future", at: t))
                engine.observe(exchange("skewed", at: t))
            }
        }
        #expect(value(engine, "future", .quotaRacing) == 0)
        let detail = engine.readings(for: "future").first { $0.kind == .quotaRacing }!.detail
        #expect(detail.contains("opened 2099-01-01T00:00:00.000Z, after its first exchange"), "\(detail)")
        #expect(value(engine, "skewed", .quotaRacing) == 1)
        let skewed = engine.readings(for: "skewed").first { $0.kind == .quotaRacing }!.detail
        #expect(skewed.hasPrefix("first exchange 0 days after"), "\(skewed)")
    }

    // MARK: Plan value

    @Test func usageWorthFarMoreThanThePlanIsSeenAndAHeavySubscriberIsNot() {
        var engine = DetectionEngine()
        engine.register(AccountRecord(accountID: "abuser", tier: "standard", plan: "pro", planPriceUSD: 20))
        engine.register(AccountRecord(accountID: "subscriber", tier: "standard", plan: "pro", planPriceUSD: 20))
        engine.register(AccountRecord(accountID: "pay-as-you-go", tier: "standard"))
        var t = ManualClock().now
        for _ in 0..<(14 * 24) {
            t = t.adding(seconds: 3_600)
            var a = exchange("abuser", at: t)
            a.costUSD = 2          // $48 a day on a $20 plan: 72× a month
            engine.observe(a)
            var s = exchange("subscriber", at: t)
            s.costUSD = 0.006      // ~$4 a month
            engine.observe(s)
            var p = exchange("pay-as-you-go", at: t)
            p.costUSD = 2
            engine.observe(p)
        }
        #expect(value(engine, "abuser", .planValue) > 0.9)
        #expect(value(engine, "subscriber", .planValue) == 0)
        #expect(value(engine, "pay-as-you-go", .planValue) == 0)
        let detail = engine.readings(for: "abuser").first { $0.kind == .planValue }!.detail
        #expect(detail.contains("on a plan of 20 USD"))
    }

    // MARK: Sudden change

    /// Five quiet days of 10 exchanges, then `burst` exchanges in one hour.
    func quietThenBurst(_ engine: inout DetectionEngine, _ account: String, burst: Int, batch: Bool = false) {
        let start = ManualClock().now
        for day in 0..<5 {
            for k in 0..<10 { engine.observe(exchange(account, at: start.adding(seconds: Double(day * 86_400 + 36_000 + k * 600)))) }
        }
        for k in 0..<burst {
            var e = exchange(account, at: start.adding(seconds: Double(5 * 86_400 + 36_000) + Double(k) * 3_600 / Double(burst)))
            if batch { e.batchID = "batch_1" }
            engine.observe(e)
        }
    }

    @Test func aTwoHundredfoldJumpBlocksOnItsOwnAndGrowthOrABatchDoesNot() {
        var leaked = DetectionEngine(policy: policyWithOnly(.suddenChange))
        quietThenBurst(&leaked, "leaked", burst: 2_000)
        #expect(value(leaked, "leaked", .suddenChange) == 1)
        #expect(leaked.decision(for: "leaked").verdict == .block)

        // With the default policy too: its weight of 0.95 is past the block threshold.
        var leakedDefault = DetectionEngine()
        quietThenBurst(&leakedDefault, "leaked", burst: 2_000)
        #expect(leakedDefault.decision(for: "leaked").verdict == .block)

        var growing = DetectionEngine(policy: policyWithOnly(.suddenChange))
        quietThenBurst(&growing, "growing", burst: 60)
        #expect(value(growing, "growing", .suddenChange) == 0)

        var batch = DetectionEngine(policy: policyWithOnly(.suddenChange))
        quietThenBurst(&batch, "batch", burst: 2_000, batch: true)
        #expect(value(batch, "batch", .suddenChange) < 0.05)
        #expect(value(batch, "batch", .rateLimitPressure) == 0)

        var young = DetectionEngine(policy: policyWithOnly(.suddenChange))
        for k in 0..<2_000 { young.observe(exchange("young", at: ManualClock().now.adding(seconds: Double(k)))) }
        #expect(value(young, "young", .suddenChange) == 0)
        let detail = leaked.readings(for: "leaked").first { $0.kind == .suddenChange }!.detail
        #expect(detail.contains("baseline of 10"))
    }

    // MARK: What honest traffic has

    /// Three days, every hour; `weight(hour)` requests that hour, each with `endUser(k)`.
    func allDay(_ engine: inout DetectionEngine, _ account: String, weight: (Int) -> Int, endUser: ((Int) -> String?)? = nil) {
        var k = 0
        let start = ManualClock().now
        for hour in 0..<72 {
            let n = weight(hour % 24)
            for j in 0..<n {
                var e = exchange(account, at: start.adding(seconds: Double(hour * 3_600) + Double(j) * 3_600 / Double(n)))
                e.endUserID = endUser?(k)
                engine.observe(e)
                k += 1
            }
        }
    }

    @Test func aDailyCycleOrReturningEndUsersExplainRoundTheClockActivity() {
        var engine = DetectionEngine()
        allDay(&engine, "machine", weight: { _ in 20 })
        allDay(&engine, "audience", weight: { (8...22).contains($0) ? 40 : 8 })
        allDay(&engine, "many-users", weight: { _ in 20 }, endUser: { "u\($0 % 300)" })
        allDay(&engine, "made-up-users", weight: { _ in 20 }, endUser: { "u\($0)" })
        #expect(value(engine, "machine", .roundTheClock) > 0.95)
        #expect(value(engine, "audience", .roundTheClock) < 0.2)
        #expect(value(engine, "many-users", .roundTheClock) < 0.1)
        #expect(value(engine, "made-up-users", .roundTheClock) > 0.95)
        let detail = engine.readings(for: "many-users").first { $0.kind == .roundTheClock }!.detail
        #expect(detail.contains("end users"))
    }

    @Test func aVerifiedOrganisationsBehaviourCountsHalf() {
        var engine = DetectionEngine()
        engine.register(AccountRecord(accountID: "verified", tier: "research", verified: true))
        engine.register(AccountRecord(accountID: "unverified", tier: "research", verified: false))
        engine.register(AccountRecord(accountID: "verified-free", tier: "free", verified: true))
        var t = ManualClock().now
        for _ in 0..<20_000 {
            t = t.adding(seconds: 1)
            for a in ["verified", "unverified", "verified-free"] { engine.observe(exchange(a, at: t)) }
        }
        let full = value(engine, "unverified", .volume)
        #expect(full > 0.5)
        #expect(abs(value(engine, "verified", .volume) - full / 2) < 1e-9)
        // Verification of a self-serve account is not an organisation's.
        #expect(value(engine, "verified-free", .volume) == 1)
    }

    @Test func reSampledBenchmarkItemsLowerChainOfThoughtCues() {
        var engine = DetectionEngine()
        var t = ManualClock().now
        for k in 0..<120 {
            t = t.adding(seconds: 30)
            // Each item sampled four times, word for word; the harvester never repeats one
            // (its problems differ only in their numbers, which the normaliser folds: only
            // byte-identical prompts count as re-samples).
            var sampled = exchange("evaluation", at: t)
            sampled.content = sketcher.features(prompt: "Problem \(k / 4): how many primes are below \(100 + k / 4 * 7)? Think step by step.", system: nil, toolCount: nil)
            engine.observe(sampled)
            var harvested = exchange("harvest", at: t)
            harvested.content = sketcher.features(prompt: "Problem \(k): how many primes are below \(100 + k * 7)? Think step by step.", system: nil, toolCount: nil)
            engine.observe(harvested)
        }
        #expect(value(engine, "harvest", .cotElicitation) == 1)
        #expect(value(engine, "evaluation", .cotElicitation) < 0.5)
        let detail = engine.readings(for: "evaluation").first { $0.kind == .cotElicitation }!.detail
        #expect(detail.contains("repeat a recent prompt exactly"))
    }
}

/// Verdicts per API key: a leaked or resold key is judged apart from its owner's other keys.
@Suite struct PerKeyVerdictTests {
    func keyed(_ account: String, _ key: String, at t: Timestamp, country: String = "DE", asn: Int = 3_320) -> Exchange {
        var e = exchange(account, at: t)
        e.apiKeyID = key
        e.country = country
        e.asn = asn
        return e
    }

    @Test func aLeakedKeyIsBlockedAndTheOwnersOtherKeyIsNot() {
        var engine = DetectionEngine()
        let start = ManualClock().now
        for day in 0..<6 {
            for k in 0..<10 {
                let t = start.adding(seconds: Double(day * 86_400 + 36_000 + k * 600))
                engine.observe(keyed("owner", "key-ci", at: t))
                engine.observe(keyed("owner", "key-laptop", at: t.adding(seconds: 1)))
            }
        }
        // key-ci leaks: 2,000 requests in an hour.
        for k in 0..<2_000 {
            engine.observe(keyed("owner", "key-ci", at: start.adding(seconds: Double(6 * 86_400 + 36_000) + Double(k) * 1.8)))
        }
        #expect(engine.decision(for: "owner", key: "key-ci").verdict == .block)
        #expect(engine.decision(for: "owner", key: "key-laptop").verdict == .allow)
        #expect(engine.decision(for: "owner").verdict == .allow)
        // The account's own reading says the jump is judged per key.
        let accountReading = engine.readings(for: "owner").first { $0.kind == .suddenChange }!
        #expect(accountReading.value == 0)
        #expect(accountReading.detail.contains("judged per API key"))
        let flagged = engine.flaggedKeys(of: "owner")
        #expect(flagged.map(\.apiKeyID) == ["key-ci"])
        #expect(flagged[0].readings.contains { $0.kind == .suddenChange && $0.detail.hasPrefix("key key-ci:") })
        // The report lists the account for its key.
        let report = ScanReport(engine: engine, generatedAt: start, includeAllAccounts: false)
        #expect(report.accounts.first { $0.accountID == "owner" }?.keys?.map(\.apiKeyID) == ["key-ci"])
    }

    @Test func aResoldKeyIsUsedFromEverywhereAndATeamKeyFromOnePlace() {
        var engine = DetectionEngine()
        let start = ManualClock().now
        let countries = ["US", "BR", "IN", "VN", "NG", "TR", "ID", "MX"]
        for k in 0..<400 {
            let t = start.adding(seconds: Double(k) * 200)
            // 25 buyers in 8 countries share one key; the owner keeps the other.
            let buyer = k % 25
            engine.observe(keyed("seller", "key-resold", at: t, country: countries[buyer % 8], asn: 7_000 + buyer))
            if k % 10 == 0 { engine.observe(keyed("seller", "key-own", at: t.adding(seconds: 5))) }
            // Five colleagues, one country, their homes and the office.
            engine.observe(keyed("team", "key-team", at: t.adding(seconds: 9), country: "FR", asn: 3_215 + k % 6))
        }
        #expect(engine.decision(for: "seller", key: "key-resold").verdict >= .throttle)
        #expect(engine.decision(for: "seller", key: "key-own").verdict == .allow)
        #expect(engine.decision(for: "team", key: "key-team").verdict == .allow)
        let sharing = engine.keySummary(for: "seller", key: "key-resold")!.readings.first { $0.kind == .keySharing }!
        #expect(sharing.value == 1)
        #expect(sharing.detail.contains("8 countries"))
        #expect(engine.keySummary(for: "team", key: "key-team")!.readings.first { $0.kind == .keySharing }!.value < 0.2)
        // An unknown key gets the account's decision.
        #expect(engine.decision(for: "seller", key: "key-never-seen").verdict == engine.decision(for: "seller").verdict)
    }

    @Test func trafficWithoutKeyIdsIsItsOwnKey() {
        var engine = DetectionEngine()
        let start = ManualClock().now
        for day in 0..<5 {
            for k in 0..<10 { engine.observe(exchange("plain", at: start.adding(seconds: Double(day * 86_400 + 36_000 + k * 600)))) }
        }
        for k in 0..<2_000 { engine.observe(exchange("plain", at: start.adding(seconds: Double(5 * 86_400 + 36_000) + Double(k) * 1.8))) }
        #expect(value(engine, "plain", .suddenChange) == 1)
        #expect(engine.decision(for: "plain").verdict == .block)
    }
}

/// Provider-run batches: their pacing is the provider's, and they are still the account's
/// volume, counted over the same sliding day as any traffic.
@Suite struct ProviderBatchTests {
    @Test func batchExchangesLeaveTheDailyWindowAsTimePasses() {
        var engine = DetectionEngine()
        let start = ManualClock().now
        engine.register(AccountRecord(accountID: "batch", created: start.adding(seconds: -400 * 86_400), tier: "research"))
        // Ten days, one batch of 2,000 requests a quarter of a second apart each day.
        for day in 0..<10 {
            for k in 0..<2_000 {
                var e = exchange("batch", at: start.adding(seconds: Double(day * 86_400) + Double(k) * 0.25))
                e.batchID = "batch-\(day)"
                engine.observe(e)
            }
        }
        let detail = engine.readings(for: "batch").first { $0.kind == .volume }!.detail
        // The last 24 hours hold one batch: 2,000 a day, not the 20,000 sent in all.
        #expect(detail.hasPrefix("2,000 exchanges/day"), "\(detail)")
        #expect(value(engine, "batch", .volume) == 0)
        #expect(value(engine, "batch", .timingRegularity) == 0)
        #expect(value(engine, "batch", .rateLimitPressure) == 0)
    }
}

/// A product's volume is its users': many returning end users halve the volume signals.
@Suite struct EndUserVolumeTests {
    @Test func manyReturningEndUsersHalveVolumeAndMadeUpOnesDoNot() {
        var engine = DetectionEngine()
        var t = ManualClock().now
        for k in 0..<20_000 {
            t = t.adding(seconds: 2)
            var product = exchange("product", at: t)
            product.endUserID = "dev-\(k % 500)"
            engine.observe(product)
            var harvester = exchange("harvester", at: t)
            harvester.endUserID = "made-up-\(k)"
            engine.observe(harvester)
        }
        let full = value(engine, "harvester", .volume)
        #expect(full > 0.5)
        // Half, give or take the HyperLogLog's estimate of the 500 end users.
        let product = value(engine, "product", .volume)
        #expect(product >= 0.45 * full && product <= 0.55 * full, "product \(product), harvester \(full)")
    }
}

/// A key used in bursts (an evaluation team's runs) has had busy days: its next burst is
/// no sudden change, while the same burst on a key that never had one is.
@Suite struct BurstyKeyTests {
    @Test func aKeyWithEarlierBurstsIsNotASuddenChange() {
        var engine = DetectionEngine(policy: policyWithOnly(.suddenChange))
        let start = ManualClock().now
        for day in 0..<10 {
            // Quiet days of 10, and on days 2 and 6 an evaluation run of 800.
            let n = day == 2 || day == 6 ? 800 : 10
            for k in 0..<n {
                var e = exchange("evaluation", at: start.adding(seconds: Double(day * 86_400 + 36_000) + Double(k) * 4))
                e.apiKeyID = "key-eval"
                engine.observe(e)
                var q = exchange("quiet", at: start.adding(seconds: Double(day * 86_400 + 36_000) + Double(k) * 4 + 1))
                q.apiKeyID = "key-quiet"
                if n == 10 || k < 10 { engine.observe(q) }
            }
        }
        for k in 0..<800 {
            var e = exchange("evaluation", at: start.adding(seconds: Double(10 * 86_400 + 36_000) + Double(k) * 4))
            e.apiKeyID = "key-eval"
            engine.observe(e)
            var q = exchange("quiet", at: start.adding(seconds: Double(10 * 86_400 + 36_000) + Double(k) * 4 + 1))
            q.apiKeyID = "key-quiet"
            engine.observe(q)
        }
        #expect(engine.decision(for: "evaluation", key: "key-eval").verdict == .allow)
        #expect(engine.decision(for: "quiet", key: "key-quiet").verdict.isFlagged)
        let detail = engine.keySummary(for: "evaluation", key: "key-eval")!.readings.first { $0.kind == .suddenChange }!.detail
        #expect(detail.contains("busiest day 800"), "\(detail)")
    }
}
