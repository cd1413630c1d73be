import Testing
@testable import DistillWatchCore

/// Each kind of linkage evidence, tested the same way: two accounts that share a card
/// (0.8, short of the 1.0 link threshold on its own) are linked once they also share the
/// evidence under test, and stay apart without it.
@Suite struct LinkEvidenceTests {
    let start = ManualClock().now

    /// Accounts "a" and "b", `count` exchanges each, interleaved 30 s apart (or at `times`),
    /// from unrelated addresses, opened a year apart, on one card. `shape` edits each
    /// exchange (`who` is 0 for a, 1 for b; `k` its index); `record` edits the records;
    /// `before` is traffic from other accounts that comes first.
    func pair(count: Int = 40, times: [[Timestamp]]? = nil, before: Population = Population(),
              created: [Timestamp]? = nil, emailDomain: String = "gmail.com", cards: [String] = ["card-1", "card-1"],
              shape: (inout Exchange, Int, Int) -> Void = { _, _, _ in }) -> DetectionEngine {
        var p = before
        for who in 0..<2 {
            let r = AccountRecord(accountID: who == 0 ? "a" : "b",
                                  created: created?[who] ?? start.adding(seconds: -Double(100 + 200 * who) * 86_400),
                                  tier: "standard", paymentFingerprint: cards[who], emailDomain: emailDomain, verified: true)
            p.records.append(r)
            let ts = times?[who] ?? (0..<count).map { start.adding(seconds: Double(3_600 + 60 * $0 + 30 * who)) }
            for (k, t) in ts.enumerated() {
                var e = exchange(r.accountID, at: t)
                e.clientIP = who == 0 ? "11.1.1.\(1 + k % 200)" : "12.2.2.\(1 + k % 200)"
                e.asn = 100 + who
                e.country = "GB"
                shape(&e, who, k)
                p.exchanges.append(e)
            }
        }
        return p.run()
    }

    func expectLinked(_ engine: DetectionEngine, by kind: LinkEvidenceKind, sourceLocation: SourceLocation = #_sourceLocation) {
        let linked = engine.linked("a", "b")
        let evidence = engine.groupEvidence(of: "a")
        #expect(linked, "not linked by \(kind)", sourceLocation: sourceLocation)
        #expect(evidence.contains(kind), "no \(kind) in \(evidence)", sourceLocation: sourceLocation)
    }

    @Test func aCardAloneDoesNotLink() {
        let linked = pair().linked("a", "b")
        #expect(!linked)
    }

    @Test func sharedAddress() {
        expectLinked(pair { e, _, _ in e.clientIP = "198.51.100.7" }, by: .sharedAddress)
    }

    @Test func sharedSubnetIPv4AndIPv6() {
        expectLinked(pair { e, who, _ in e.clientIP = who == 0 ? "198.51.100.7" : "198.51.100.9" }, by: .sharedSubnet)
        expectLinked(pair { e, who, _ in e.clientIP = who == 0 ? "2a01:4f8:c0c:1::5" : "2a01:4f8:c0c:9::77" }, by: .sharedSubnet)
    }

    @Test func sharedUserAgentAndClientFingerprint() {
        expectLinked(pair { e, _, _ in e.userAgent = "harvest-kit/0.3 (linux)" }, by: .sharedUserAgent)
        expectLinked(pair { e, _, _ in e.clientFingerprint = "t13d1516h2_8daaf6152771_02713d6af862" },
                     by: .sharedClientFingerprint)
    }

    @Test func sharedEmailDomainButNotACommonProvider() {
        expectLinked(pair(emailDomain: "shellco-labs.example"), by: .sharedEmailDomain)
        let common = pair(emailDomain: "outlook.com").linked("a", "b")
        #expect(!common)
    }

    @Test func signupBurst() {
        // Sixty accounts opened in one hour, "a" and "b" among them.
        let hour = start.adding(seconds: -10 * 86_400)
        var burst = Population()
        for k in 0..<60 {
            let id = "burst-\(k)"
            burst.records.append(AccountRecord(accountID: id, created: hour.adding(seconds: Double(k * 50)),
                                               paymentFingerprint: "burst-card-\(k)"))
            burst.exchanges.append(exchange(id, at: start.adding(seconds: Double(k))))
        }
        let engine = pair(before: burst, created: [hour.adding(seconds: 600), hour.adding(seconds: 660)])
        expectLinked(engine, by: .signupBurst)
        // Two accounts opened in the same quiet hour are not enough with a card.
        // Two accounts opened in the same quiet hour are not enough with a card (b active
        // twelve hours later, with fewer exchanges, so that neither synchrony nor balance adds up).
        let quietTimes = [(0..<40).map { start.adding(seconds: Double(60 * $0)) },
                          (0..<25).map { start.adding(seconds: Double(43_200 + 90 * $0)) }]
        let quiet = pair(times: quietTimes, created: [hour, hour.adding(seconds: 60)])
        let quietLinked = quiet.linked("a", "b")
        #expect(!quietLinked)
    }

    @Test func proxyPool() {
        // Both rotate through one pool of 30 networks in 6 countries.
        let countries = ["US", "BR", "IN", "DE", "VN", "ID"]
        let engine = pair { e, who, k in
            e.asn = 64_500 + (k * 7 + who * 3) % 30
            e.country = countries[(k + who) % countries.count]
        }
        expectLinked(engine, by: .proxyPool)
    }

    @Test func synchronisedActivityBeyondChance() {
        // Twenty waves of twenty minutes, three hours apart; "b" in the same minutes or
        // ninety minutes later.
        func waves(offsetMinutes: Int) -> [[Timestamp]] {
            var out: [[Timestamp]] = [[], []]
            for who in 0..<2 {
                let shift = who == 1 ? offsetMinutes * 60 + 5 : 0
                for wave in 0..<20 {
                    for m in 0..<20 { out[who].append(start.adding(seconds: Double(wave * 10_800 + m * 60 + shift))) }
                }
            }
            return out
        }
        expectLinked(pair(times: waves(offsetMinutes: 0)), by: .synchronisedActivity)
        let apart = pair(times: waves(offsetMinutes: 90))
        let apartEvidence = apart.groupEvidence(of: "a")
        #expect(!apartEvidence.contains(.synchronisedActivity))
    }

    @Test func balancedVolume() {
        let hour = start.adding(seconds: -10 * 86_400)
        // Opened in the same quiet hour (0.1) and equal volumes (0.15) with the card: 1.05.
        expectLinked(pair(created: [hour, hour.adding(seconds: 60)]), by: .balancedVolume)
    }

    @Test func parameterFingerprint() {
        expectLinked(pair { e, _, _ in
            e.maxTokens = 32_000
            e.temperature = 0.7
        }, by: .parameterFingerprint)
    }

    @Test func templateFamily() {
        expectLinked(pair { e, _, k in e.content = features(template: UInt64(1_000 + k), system: 77, seed: UInt64(k)) },
                     by: .templateFamily)
    }

    @Test func complementaryCoverage() {
        // Ten other accounts already fill one template with distinct items: a split task list.
        var others = Population()
        for k in 0..<12 {
            let id = "worker-\(k)"
            others.records.append(AccountRecord(accountID: id, paymentFingerprint: "w-card-\(k)"))
            var e = exchange(id, at: start.adding(seconds: Double(k)))
            e.content = features(template: 5, system: nil, seed: UInt64(500 + k))
            others.exchanges.append(e)
        }
        let engine = pair(before: others) { e, who, k in
            e.content = features(template: 5, system: nil, seed: UInt64(10_000 + who * 1_000 + k))
        }
        expectLinked(engine, by: .complementaryCoverage)
    }

    @Test func contentAloneNeverLinks() {
        // No card, no network in common: the same system prompt and parameters do not link.
        let engine = pair(cards: ["card-a", "card-b"]) { e, _, k in
            e.maxTokens = 32_000
            e.temperature = 0.7
            e.content = features(template: UInt64(k), system: 77, seed: UInt64(k))
        }
        let linked = engine.linked("a", "b")
        #expect(!linked)
    }

    @Test func addressKeysParseIPv4AndIPv6() throws {
        let v4 = try #require(AddressKeys.subnetKey("198.51.100.7"))
        #expect(AddressKeys.addressKey("198.51.100.7") != nil)
        #expect(v4 == AddressKeys.subnetKey("198.51.100.200"))
        #expect(v4 != AddressKeys.subnetKey("198.51.101.7"))
        #expect(AddressKeys.ipv6Prefix48("2A01:04f8:0c0c::1") == "2a01:4f8:c0c")
        #expect(AddressKeys.ipv6Prefix48("2a01::1") == "2a01:0:0")
        #expect(AddressKeys.addressKey("not-an-address") == nil)
        #expect(AddressKeys.addressKey("1.2.3") == nil)
        #expect(AddressKeys.ipv6Prefix48("2a01:zz::1") == nil)
    }

    /// The one-pass reading used on every exchange gives exactly the keys of the general
    /// functions, for IPv4, IPv6 (also one starting with a hex letter, which a first version
    /// of the fast path refused) and text that is no address.
    @Test func oneReadingGivesTheSameKeysAsTheGeneralFunctions() {
        let inputs = ["198.51.100.7", "198.51.100.200", "0.0.0.0", "255.255.255.255", "1.2.3.4", "...", "1.2.3",
                      "1.2.3.4.5", "fe80::1", "FE80::1", "2a01:4f8:c0c::1", "::1", "::ffff:1.2.3.4", "abc", "",
                      "1.2.3.4 ", "a.b.c.d", String(repeating: "1", count: 70), "2a01:zz::1", "10.0.0.1:443"]
        for input in inputs {
            let keys = AddressKeys.keys(input)
            #expect(keys?.address == AddressKeys.addressKey(input), "\(input)")
            if keys != nil { #expect(keys?.subnet == AddressKeys.subnetKey(input), "\(input)") }
        }
        #expect(AddressKeys.keys("fe80::1") != nil)
        #expect(AddressKeys.keys("198.51.100.7")?.subnet == AddressKeys.keys("198.51.100.200")?.subnet)
    }

    /// The 16-lane comparison counts what the definition says: bins equal among those
    /// filled in either sketch (empty in both does not count).
    @Test func sketchSimilarityCountsBinsFilledInEither() {
        var rng = SplitMix64(seed: 21)
        for round in 0..<500 {
            var a = InlineArray<16, UInt16>(repeating: .max), b = InlineArray<16, UInt16>(repeating: .max)
            for i in 0..<16 {
                let r = rng.next()
                if r & 3 != 0 { a[i] = UInt16(truncatingIfNeeded: r >> 8) % 8 }
                if (r >> 2) & 3 != 0 { b[i] = r & 0x10 == 0 ? a[i] : UInt16(truncatingIfNeeded: r >> 24) % 8 }
            }
            var filled = 0, equal = 0
            for i in 0..<16 where a[i] != .max || b[i] != .max {
                filled += 1
                if a[i] == b[i] { equal += 1 }
            }
            let expected = filled == 0 ? 0 : Double(equal) / Double(filled)
            #expect(LinkProfile.similarity(a, b) == expected, "round \(round)")
        }
        #expect(LinkProfile.similarity(InlineArray(repeating: .max), InlineArray(repeating: .max)) == 0)
    }

    @Test func rarityWeightFallsWithAccounts() {
        let r = CampaignPolicy.KeyRarity(fullWeightAccounts: 3, maximumAccounts: 40)
        #expect(r.factor(accounts: 2) == 1)
        #expect(r.factor(accounts: 3) == 1)
        #expect(r.factor(accounts: 10) < 1 && r.factor(accounts: 10) > r.factor(accounts: 30))
        #expect(r.factor(accounts: 41) == 0)
    }
}

/// Content features with a given template and system prompt and distinct content.
func features(template: UInt64, system: UInt64?, seed: UInt64) -> ContentFeatures {
    var f = ContentFeatures()
    var rng = SeededGenerator(seed: seed &* 7_919 &+ 1)
    f.signature = MinHashSignature(bins: (0..<MinHashSignature.binCount).map { _ in UInt32(truncatingIfNeeded: rng.next()) })
    f.fingerprint = (rng.next(), rng.next())
    f.templateKey = template
    f.systemKey = system
    f.tokenCount = 80
    return f
}

@Suite struct LinkKeyIndexTests {
    @Test func joiningReturnsTheLastFourOtherAccountsAndCountsDistinctOnes() {
        var index = LinkKeyIndex()
        for a in Int32(0)..<6 { _ = index.joinProfileKey(7, account: a) }
        let join = index.joinProfileKey(7, account: 6)
        #expect(join.accounts == 7)
        #expect(join.isNew)
        #expect(Array(0..<4).map { join.candidates[$0] } == [5, 4, 3, 2])
        // Joining again while among the last four neither counts nor is new.
        let again = index.joinProfileKey(7, account: 5)
        #expect(!again.isNew)
        #expect(index.accounts(onProfileKey: 7) == 7)
        // A re-announcement (countAgain false) gets candidates without being counted.
        let announced = index.joinProfileKey(7, account: 0, countAgain: false)
        #expect(announced.isNew)
        #expect(index.accounts(onProfileKey: 7) == 7)
    }

    @Test func exchangeKeysLiveTwoGenerationsAndKeysInUseMoveForward() {
        var index = LinkKeyIndex(generationCapacity: 8)
        _ = index.joinExchangeKey(1, account: 0)
        _ = index.joinExchangeKey(1, account: 1)
        // Fill the first generation and start a second: key 1 is still found (and promoted).
        for k in UInt64(100)..<108 { _ = index.joinExchangeKey(k, account: 9) }
        #expect(index.accounts(onExchangeKey: 1) == 2)
        #expect(index.joinExchangeKey(1, account: 2).accounts == 3)
        // Two more generations without key 2 drop it; key 1, used in between, stays.
        _ = index.joinExchangeKey(2, account: 3)
        for k in UInt64(200)..<216 { _ = index.joinExchangeKey(k, account: 9) }
        _ = index.joinExchangeKey(1, account: 4)
        for k in UInt64(300)..<316 { _ = index.joinExchangeKey(k, account: 9) }
        #expect(index.accounts(onExchangeKey: 2) == 0)
        #expect(index.exchangeKeyCount <= 16)
    }

    @Test func profileKeysBeyondTheCapAreRefusedAndCountedWhileHeldOnesKeepWorking() {
        var index = LinkKeyIndex(profileCapacity: 4)
        for k in UInt64(1)...4 { _ = index.joinProfileKey(k, account: 0) }
        let refused = index.joinProfileKey(99, account: 1)
        #expect(refused.accounts == 1 && !refused.isNew && refused.candidates[0] == -1)
        #expect(index.droppedProfileKeys == 1)
        #expect(index.accounts(onProfileKey: 99) == 0)
        // A key already held still links the next account on it.
        let held = index.joinProfileKey(2, account: 1)
        #expect(held.accounts == 2 && held.candidates[0] == 0)
        #expect(index.profileKeys.count == 4)
    }

    @Test func clientKeysAreNeverForgottenWhileAddressesChurn() {
        // A popular user agent stays popular however many proxy addresses pass through.
        var index = LinkKeyIndex(generationCapacity: 8)
        for a in Int32(0)..<150 { _ = index.joinClientKey(42, account: a) }
        for k in UInt64(1_000)..<1_100 { _ = index.joinExchangeKey(k, account: 1) }
        #expect(index.accounts(onProfileKey: 42) == 150)
        #expect(index.joinClientKey(42, account: 500).accounts == 151)
    }
}
