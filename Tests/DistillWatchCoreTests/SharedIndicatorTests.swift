import Testing

@testable import DistillWatchCore

/// A task template worded by each account in its own way (`wording` picks synonyms),
/// filled with an item: what an operator's accounts at two providers send.
func templatedPrompt(item: Int, wording: Int) -> String {
    let verbs = ["Solve", "Work through", "Answer"]
    let closers = ["then give the final answer in a box", "and box the final answer", "finishing with the boxed answer"]
    return "You are generating supervised training data for a reasoning model. \(verbs[wording % 3]) the following problem "
        + "step by step, show every intermediate result on its own line, state each assumption explicitly, check the "
        + "result against the original conditions, \(closers[(wording / 3) % 3]). Problem \(item): a train leaves station "
        + "\(item % 17) at \(item % 12) o'clock travelling \(40 + item % 60) km/h; another leaves \(item % 5) hours later at "
        + "\(60 + item % 50) km/h. When does the second catch up?"
}

@Suite struct SharedIndicatorTests {
    let sharing = SharingKey(id: "acme-globex-test", secretHex: "0f1e2d3c4b5a69788796a5b4c3d2e1f0")!
    let otherSharing = SharingKey(id: "acme-initech-test", secretHex: "00112233445566778899aabbccddeeff")!
    let providerA = ContentKey(k0: 0xA1, k1: 0xA2)
    let providerB = ContentKey(k0: 0xB1, k1: 0xB2)
    let start = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!

    /// The band values provider A would publish: those in at least 5 of its campaign's prompts.
    func publishedBands(from prompts: [String], key: SharingKey) -> [UInt64] {
        let sketcher = ContentSketcher(key: providerA, sharingKeys: [key])
        var counts: [UInt64: Int] = [:]
        for p in prompts {
            for band in sketcher.features(prompt: p).sharedFingerprints[0].templateBands { counts[band, default: 0] += 1 }
        }
        return counts.filter { $0.value >= 5 }.map(\.key).sorted()
    }

    func templateIndicator(_ bands: [UInt64], keyID: String, until: Timestamp? = nil) -> SharedIndicator {
        SharedIndicator(id: "indicator--00000000-0000-4000-8000-000000000001", source: "Acme AI", campaign: "campaign-3",
                        comparisons: bands.map { .templateBand(keyID: keyID, value: $0) }, validFrom: start, validUntil: until)
    }

    @Test func aTemplateWordedDifferentlyMatchesAcrossProvidersUnderTheSharedKeyOnly() {
        // Provider A's accounts word the template 0...2; provider B's account words it 4.
        let aPrompts = (0..<60).map { templatedPrompt(item: $0, wording: $0 % 3) }
        let bands = publishedBands(from: aPrompts, key: sharing)
        #expect(bands.count >= 2)
        let set = SharedIndicatorSet([templateIndicator(bands, keyID: sharing.id)], sharingKeys: [sharing])

        let bSketcher = ContentSketcher(key: providerB, sharingKeys: [sharing])
        let bOtherKey = ContentSketcher(key: providerB, sharingKeys: [otherSharing])
        var matched = 0, matchedUnderOtherKey = 0
        for item in 1000..<1040 {
            let prompt = templatedPrompt(item: item, wording: 4)
            var e = Exchange(time: start.adding(seconds: 60), accountID: "b-1")
            e.content = bSketcher.features(prompt: prompt)
            if set.matches(e).contains(where: { $0.kinds & SharedIndicatorKind.templateFamily.bit != 0 }) { matched += 1 }
            e.content = bOtherKey.features(prompt: prompt)
            if !set.matches(e).isEmpty { matchedUnderOtherKey += 1 }
        }
        #expect(matched >= 30, "\(matched) of 40 of B's prompts matched A's template family")
        #expect(matchedUnderOtherKey == 0)
        // The installations' own content sketches are not comparable: different content keys.
        let same = templatedPrompt(item: 7, wording: 0)
        #expect(ContentSketcher(key: providerA).features(prompt: same).signature
            .jaccard(ContentSketcher(key: providerB).features(prompt: same).signature) < 0.1)
    }

    @Test func unrelatedPromptsDoNotMatchATemplateFamily() {
        let bands = publishedBands(from: (0..<60).map { templatedPrompt(item: $0, wording: $0 % 3) }, key: sharing)
        let set = SharedIndicatorSet([templateIndicator(bands, keyID: sharing.id)], sharingKeys: [sharing])
        let sketcher = ContentSketcher(key: providerB, sharingKeys: [sharing])
        let honest = [
            "Can you help me write a short birthday message for my grandmother who is turning ninety next week?",
            "Explain the difference between a process and a thread in operating systems, with an example in Swift.",
            "My train leaves at 9 and arrives at 11:30; how long is the journey if it stops twice for ten minutes?",
            "Summarise the main arguments of this article about urban cycling infrastructure in three bullet points.",
        ]
        for p in honest {
            var e = Exchange(time: start.adding(seconds: 60), accountID: "honest")
            e.content = sketcher.features(prompt: p)
            #expect(set.matches(e).isEmpty, "\(p)")
        }
    }

    @Test func infrastructureAloneStaysBelowReviewAndPromptsRaiseIt() {
        let address = SharedIndicator(id: "indicator--00000000-0000-4000-8000-000000000002", source: "Acme AI", campaign: "campaign-3",
                                      tlp: "TLP:RED",
                                      comparisons: [.address(IPPrefix("203.0.113.0/24")!), .userAgent("harness/1.0"), .autonomousSystem(64500)],
                                      validFrom: start)
        let bands = publishedBands(from: (0..<60).map { templatedPrompt(item: $0, wording: $0 % 3) }, key: sharing)
        var engine = DetectionEngine(policy: .default)
        engine.replaceSharedIndicators(SharedIndicatorSet([address, templateIndicator(bands, keyID: sharing.id)], sharingKeys: [sharing]))
        let sketcher = ContentSketcher(key: providerB, sharingKeys: [sharing])
        var t = start
        // An honest resident behind the same exit, same network and the same user agent.
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<40 {
            t = t.adding(seconds: Double.random(in: 300...7200, using: &generator))
            var e = Exchange(time: t, accountID: "resident", outputTokens: 300)
            e.clientIP = "203.0.113.9"
            e.asn = 64500
            e.userAgent = "harness/1.0"
            engine.observe(e)
        }
        let resident = value(engine, "resident", .sharedIndicator)
        #expect(resident > 0 && resident <= 0.45)
        #expect(engine.decision(for: "resident").verdict == .allow)
        // The operator's account at B: same exit, and the template.
        for item in 0..<25 {
            t = t.adding(seconds: 900)
            var e = Exchange(time: t, accountID: "operator-b", outputTokens: 300)
            e.clientIP = "203.0.113.50"
            e.content = sketcher.features(prompt: templatedPrompt(item: 500 + item, wording: 5))
            engine.observe(e)
        }
        #expect(value(engine, "operator-b", .sharedIndicator) > 0.9)
        #expect(engine.decision(for: "operator-b").verdict.isFlagged)
        let detail = engine.readings(for: "operator-b").first { $0.kind == .sharedIndicator }!.detail
        #expect(detail.contains("Acme AI") && detail.contains("campaign-3") && detail.contains("prompt-template family"))
        // The marking travels with the evidence into the detail (Sharing.md: a report of such
        // traffic is handled as the indicator's TLP says).
        #expect(detail.contains("(indicator--00000000-0000-4000-8000-000000000002, TLP:RED)"), "\(detail)")
        #expect(!engine.signalFamiliesWithoutData.contains(.sharedIndicators))
        #expect(DetectionEngine().signalFamiliesWithoutData.contains(.sharedIndicators))
    }

    @Test func onePromptFromTheCampaignsOwnInfrastructureIsTheCampaign() {
        let bands = publishedBands(from: (0..<60).map { templatedPrompt(item: $0, wording: $0 % 3) }, key: sharing)
        let infrastructure = SharedIndicator(id: "indicator--00000000-0000-4000-8000-000000000006", source: "Acme AI",
                                             comparisons: [.address(IPPrefix("203.0.113.0/24")!), .userAgent("harness/1.0"), .clientFingerprint("t13d-x")],
                                             validFrom: start)
        let sketcher = ContentSketcher(key: providerB, sharingKeys: [sharing])
        func firstFlag(userAgent: String, fingerprint: String) -> Int? {
            var engine = DetectionEngine(policy: .default)
            engine.replaceSharedIndicators(SharedIndicatorSet([templateIndicator(bands, keyID: sharing.id), infrastructure], sharingKeys: [sharing]))
            var t = start
            for n in 1...6 {
                t = t.adding(seconds: 600)
                var e = Exchange(time: t, accountID: "b", outputTokens: 300)
                e.clientIP = "203.0.113.\(n)"
                e.userAgent = userAgent
                e.clientFingerprint = fingerprint
                // One harness prompt, then everyday chat.
                e.content = sketcher.features(prompt: n == 1 ? templatedPrompt(item: 9, wording: 1) : "What is a nice name for a grey cat? Give three \(n).")
                if engine.observe(e).verdict.isFlagged { return n }
            }
            return nil
        }
        // The operator's exit, client stack and harness prompt: flagged at once.
        #expect(firstFlag(userAgent: "harness/1.0", fingerprint: "t13d-x") == 1)
        // The same prompt from a shared exit only (one kind of infrastructure): not yet.
        #expect(firstFlag(userAgent: "curl/8", fingerprint: "other") == nil)
    }

    @Test func expiredAndRevokedIndicatorsStopCounting() {
        let until = start.adding(seconds: 3600)
        let bands = publishedBands(from: (0..<60).map { templatedPrompt(item: $0, wording: $0 % 3) }, key: sharing)
        var engine = DetectionEngine(policy: .default)
        engine.replaceSharedIndicators(SharedIndicatorSet([templateIndicator(bands, keyID: sharing.id, until: until)], sharingKeys: [sharing]))
        let sketcher = ContentSketcher(key: providerB, sharingKeys: [sharing])
        var t = start
        for item in 0..<25 {
            t = t.adding(seconds: 60)
            var e = Exchange(time: t, accountID: "b", outputTokens: 300)
            e.content = sketcher.features(prompt: templatedPrompt(item: item, wording: 1))
            engine.observe(e)
        }
        #expect(engine.decision(for: "b").verdict.isFlagged)
        // After valid_until the indicator no longer counts, nor matches new traffic.
        var late = Exchange(time: until.adding(seconds: 60), accountID: "b", outputTokens: 300)
        late.content = sketcher.features(prompt: templatedPrompt(item: 99, wording: 1))
        #expect(engine.sharedIndicators.matches(late).isEmpty)
        engine.observe(late)
        #expect(value(engine, "b", .sharedIndicator) == 0)

        // Revocation: the same id withdrawn from the set is forgotten at once.
        var engine2 = DetectionEngine(policy: .default)
        engine2.replaceSharedIndicators(SharedIndicatorSet([templateIndicator(bands, keyID: sharing.id)], sharingKeys: [sharing]))
        t = start
        for item in 0..<25 {
            t = t.adding(seconds: 60)
            var e = Exchange(time: t, accountID: "b", outputTokens: 300)
            e.content = sketcher.features(prompt: templatedPrompt(item: item, wording: 1))
            engine2.observe(e)
        }
        let before = engine2.decision(for: "b").score
        #expect(before > 0.8)
        engine2.replaceSharedIndicators(SharedIndicatorSet([], sharingKeys: [sharing]))
        #expect(value(engine2, "b", .sharedIndicator) == 0)
        // What remains is the account's own behaviour (a steady 60-second rhythm).
        #expect(engine2.decision(for: "b").score < before - 0.3)
    }

    @Test func aSnapshotKeepsTheIndicatorsAndWhatTheyMatched() throws {
        let bands = publishedBands(from: (0..<60).map { templatedPrompt(item: $0, wording: $0 % 3) }, key: sharing)
        var scanner = TrafficScanner(policy: .default)
        scanner.replaceSharedIndicators(SharedIndicatorSet([templateIndicator(bands, keyID: sharing.id),
            SharedIndicator(id: "indicator--00000000-0000-4000-8000-000000000005", source: "Acme AI", campaign: "c",
                            comparisons: [.address(IPPrefix("203.0.113.0/24")!), .emailDomain(keyID: sharing.id, value: 7)], validFrom: start)],
            sharingKeys: [sharing]))
        let sketcher = ContentSketcher(key: providerB, sharingKeys: [sharing])
        var t = start
        for item in 0..<30 {
            t = t.adding(seconds: 61)
            var e = Exchange(time: t, accountID: "b-\(item % 2)", outputTokens: 300)
            e.clientIP = "203.0.113.\(item)"
            e.content = sketcher.features(prompt: templatedPrompt(item: item, wording: 2))
            scanner.observe(e)
        }
        scanner.flush()
        let restored = try TrafficScanner(snapshot: scanner.snapshot(), policy: .default, toleranceMilliseconds: nil, sketcher: nil, mergesRequestIDs: false)
        #expect(restored.engine.sharedIndicators.indicators == scanner.engine.sharedIndicators.indicators)
        #expect(restored.engine.sharedIndicatorSightings == scanner.engine.sharedIndicatorSightings)
        #expect(restored.engine.decision(for: "b-1") == scanner.engine.decision(for: "b-1"))
        #expect(restored.snapshot() == scanner.snapshot())
        let sightings = scanner.engine.sharedIndicatorSightings
        #expect(sightings.count == 2 && sightings.allSatisfy { $0.accounts == 2 && $0.matches > 0 })
    }

    @Test func storedFormsReadBack() throws {
        let comparisons: [SharedIndicator.Comparison] = [
            .address(IPPrefix("2001:db8::/32")!), .autonomousSystem(64500), .userAgent("a:b c"), .clientFingerprint("t13d"),
            .templateBand(keyID: "k.1", value: .max), .systemPrompt(keyID: "k", value: 0), .emailDomain(keyID: "k", value: 42),
        ]
        for c in comparisons { #expect(SharedIndicator.Comparison(storedForm: c.storedForm) == c) }
        for bad in ["", "ip:", "ip:300.1.1.1", "asn:-1", "ua:", "tb:k:zz", "tb:bad key:0000000000000001", "xx:1"] {
            #expect(SharedIndicator.Comparison(storedForm: bad) == nil, "\(bad)")
        }
    }

    @Test func emailDomainFingerprintsMatchAccountRecords() {
        let fp = sharing.emailDomainFingerprint("Throwaway-Mail.example.")
        #expect(fp == sharing.emailDomainFingerprint("throwaway-mail.example"))
        #expect(fp != otherSharing.emailDomainFingerprint("throwaway-mail.example"))
        let indicator = SharedIndicator(id: "indicator--00000000-0000-4000-8000-000000000003", source: "Acme AI",
                                        comparisons: [.emailDomain(keyID: sharing.id, value: fp)], validFrom: start)
        var engine = DetectionEngine(policy: .default)
        var record = AccountRecord(accountID: "new-signup")
        record.emailDomain = "throwaway-mail.example"
        engine.register(record)
        engine.replaceSharedIndicators(SharedIndicatorSet([indicator], sharingKeys: [sharing]))
        #expect(value(engine, "new-signup", .sharedIndicator) == 0.5)
    }

    @Test func sharedFingerprintsSurviveSerialisation() {
        let sketcher = ContentSketcher(key: providerA, sharingKeys: [sharing, otherSharing])
        let f = sketcher.features(prompt: templatedPrompt(item: 3, wording: 2), system: "You are a careful tutor.")
        #expect(f.sharedFingerprints.count == 2)
        #expect(f.sharedFingerprints.allSatisfy { $0.templateBands.count == SharingKey.templateBandCount && $0.system != nil })
        #expect(ContentFeatures(serialized: f.serialized()) == f)
        let plain = ContentSketcher(key: providerA).features(prompt: "short")
        #expect(plain.serialized().first == 2)
        #expect(ContentFeatures(serialized: plain.serialized()) == plain)
        var truncated = f.serialized()
        truncated.removeLast(3)
        #expect(ContentFeatures(serialized: truncated) == nil)
    }

    @Test func sharingKeysCheckTheirNamesAndDeriveDistinctCheckValues() {
        #expect(SharingKey(id: "bad name", secretHex: "00112233445566778899aabbccddeeff") == nil)
        #expect(SharingKey(id: "ok", secretHex: "0011") == nil)
        #expect(sharing.checkValue.count == 8 && sharing.checkValue != otherSharing.checkValue)
    }

    @Test(arguments: [
        ("198.51.100.7", "198.51.100.7"), ("::1", "::1"), ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::ffff:198.51.100.7", "198.51.100.7"), ("2001:db8::", "2001:db8::"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
    ])
    func addressesParseToCanonicalText(_ input: String, _ canonical: String) {
        #expect(IPAddress(input)?.description == canonical)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "1:2:3:4:5:6:7:8:9", ":::", "1::2::3", "fe80::1%eth0",
                      "12345::", "1.2.3.4/24", "::1:", "g::1", String(repeating: "1", count: 80)])
    func malformedAddressesAreRefused(_ input: String) {
        #expect(IPAddress(input) == nil)
    }

    @Test func prefixesContainTheirAddressesOnly() {
        let p = IPPrefix("198.51.100.77/24")!
        #expect(p.description == "198.51.100.0/24")
        #expect(p.contains(IPAddress("198.51.100.1")!) && !p.contains(IPAddress("198.51.101.1")!))
        let v6 = IPPrefix("2001:db8:1::/48")!
        #expect(v6.contains(IPAddress("2001:db8:1:ffff::1")!) && !v6.contains(IPAddress("2001:db8:2::1")!))
        #expect(IPPrefix("198.51.100.0/33") == nil && IPPrefix("::/129") == nil && IPPrefix("1.2.3.4/x") == nil)
        #expect(!IPPrefix("0.0.0.0/0")!.contains(IPAddress("2001:db8::1")!))
    }
}
