import DistillWatchTestSupport
import Testing
@testable import DistillWatchCore

/// The low-and-slow campaign of issue 16: few requests a day per account, unique cards and
/// user agents, own time zones, but one pool of sticky residential exits and one uncommon
/// parameter fingerprint. And the honest look-alikes those ties must not catch.
@Suite(.onTheHeavyLane) struct LowAndSlowLinkageTests {
    static let start = Timestamp(rfc3339: "2026-04-06T00:00:00Z")!

    /// `accounts` accounts, `days` days, `perDay` requests in sessions of three, each
    /// session from one exit of a shared pool of `exits` residential addresses (or, with
    /// `exits` 0, the account's own new address each day), parameters identical across
    /// accounts when `sharedFingerprint`.
    static func lowAndSlow(accounts: Int, days: Int, perDay: Int, exits: Int, sharedFingerprint: Bool, seed: UInt64) -> Population {
        var rng = SeededGenerator(seed: seed)
        var p = Population()
        let pool = (0..<max(1, exits)).map { k in (address: "100.\(64 + k % 60).\(k / 60).\(1 + k % 250)", asn: 64_600 + k % 90, country: ["US", "DE", "BR", "IN", "JP", "FR"][k % 6]) }
        for a in 0..<accounts {
            let id = "slow-\(a)"
            p.records.append(AccountRecord(accountID: id, created: start.adding(seconds: -30 * 86_400 + Double(a % 5) * 86_400),
                                           tier: "free", paymentFingerprint: "card-\(a)", emailDomain: "gmail.com", verified: false))
            let offset = Double(a % 12) * 3_600
            let maxTokens = sharedFingerprint ? 12_000 : 1_000 + 37 * a
            let temperature = sharedFingerprint ? 0.6 : [0.2, 0.7, 1.0][a % 3]
            for day in 0..<days {
                var t = start.adding(seconds: Double(day) * 86_400 + 9 * 3_600 + offset + rng.nextUnit() * 3_600)
                let own = (address: "81.\(a % 250).\(day % 250).\(1 + rng.below(250))", asn: 3_320 + rng.below(40), country: "DE")
                var exit = exits > 0 ? pool[rng.below(pool.count)] : own
                for k in 0..<perDay {
                    if k % 3 == 0, exits > 0 { exit = pool[rng.below(pool.count)] }
                    var e = exchange(id, at: t, maxTokens: maxTokens, temperature: temperature, thinking: true, messages: 1)
                    e.stream = true
                    e.clientIP = exit.address
                    e.asn = exit.asn
                    e.country = exit.country
                    e.userAgent = "client-\(a)/1.\(a)"
                    p.exchanges.append(e)
                    t = t.adding(seconds: 60 + rng.nextUnit() * 600)
                }
            }
        }
        return p
    }

    /// Developers at home, 3% of requests from elsewhere (a phone, a café), all on one
    /// popular client with the same settings.
    static func developersAwayNowAndThen(count: Int, days: Int, seed: UInt64) -> Population {
        var rng = SeededGenerator(seed: seed)
        var p = Population()
        for d in 0..<count {
            let id = "dev-\(d)"
            p.records.append(AccountRecord(accountID: id, created: start.adding(seconds: -30 * 86_400 + Double(d % 5) * 86_400),
                                           tier: "free", paymentFingerprint: "dev-card-\(d)", emailDomain: "gmail.com"))
            let home = "81.\(100 + d % 100).\(rng.below(256)).\(1 + rng.below(250))"
            for day in 0..<days {
                var t = start.adding(seconds: Double(day) * 86_400 + 9 * 3_600 + rng.nextUnit() * 3_600)
                for _ in 0..<30 {
                    var e = exchange(id, at: t, maxTokens: 12_000, temperature: 0.6, thinking: true, messages: 1)
                    e.stream = true
                    let away = rng.chance(0.03)
                    e.clientIP = away ? "100.\(64 + rng.below(60)).\(rng.below(256)).\(1 + rng.below(250))" : home
                    e.asn = away ? 64_600 + rng.below(90) : 3_320 + d % 5
                    e.country = "DE"
                    e.userAgent = "popular-client/2.1"
                    p.exchanges.append(e)
                    t = t.adding(seconds: 60 + rng.nextUnit() * 600)
                }
            }
        }
        return p
    }

    @Test func aSharedPoolOfStickyExitsLinksTheCampaignAndFlagsIt() throws {
        let engine = Self.lowAndSlow(accounts: 30, days: 14, perDay: 15, exits: 60, sharedFingerprint: true, seed: 1).run()
        let sizes = engine.groupSizes(ofAccountsWithPrefix: "slow-")
        #expect(sizes.values.max() ?? 0 >= 27, "\(sizes)")
        #expect(engine.groupEvidence(of: "slow-0").contains(.sharedProxyExits))
        let flagged = (0..<30).filter { engine.decision(for: "slow-\($0)").verdict.isFlagged }.count
        #expect(flagged >= 27)
        let membership = try #require(engine.campaignMembership(of: "slow-0"))
        #expect(membership.detail.contains("shared_proxy_exits") || engine.campaignSummaries.first?.evidence.contains { $0.kind == .sharedProxyExits } == true)
    }

    @Test func oneUncommonFingerprintBehindChangingExitsLinksEvenWithoutSharedExits() {
        let engine = Self.lowAndSlow(accounts: 30, days: 14, perDay: 15, exits: 0, sharedFingerprint: true, seed: 2).run()
        #expect(engine.groupEvidence(of: "slow-0").contains(.proxiedFingerprint))
        #expect((0..<30).filter { engine.decision(for: "slow-\($0)").verdict.isFlagged }.count >= 27)
    }

    @Test func withOwnExitsAndOwnFingerprintsNothingTiesThem() {
        // The evasion the sweep finds: nothing shared but a task list phrased differently.
        let engine = Self.lowAndSlow(accounts: 30, days: 14, perDay: 15, exits: 0, sharedFingerprint: false, seed: 3).run()
        #expect((0..<30).filter { engine.decision(for: "slow-\($0)").verdict.isFlagged }.count == 0)
    }

    @Test func developersOnOnePopularClientWithTheSameSettingsStayApart() {
        var population = Self.developersAwayNowAndThen(count: 60, days: 14, seed: 4)
        population.add(Self.lowAndSlow(accounts: 30, days: 14, perDay: 15, exits: 60, sharedFingerprint: true, seed: 5))
        let engine = population.run()
        // Same settings, same client, the same exit networks now and then: a home makes a
        // majority address, so no developer is a proxy user and none joins the campaign.
        #expect((0..<60).filter { engine.decision(for: "dev-\($0)").verdict.isFlagged }.isEmpty)
        #expect(engine.groupSizes(ofAccountsWithPrefix: "dev-").values.max() ?? 0 < 3)
        #expect((0..<30).filter { engine.decision(for: "slow-\($0)").verdict.isFlagged }.count >= 27)
    }
}
