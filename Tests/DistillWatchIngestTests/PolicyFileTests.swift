import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchIngest

@Suite struct PolicyFileTests {
    @Test func overridesOnlyWhatItNames() throws {
        let p = try PolicyFile.load(yaml: """
            weights:
              volume: 0.9
              model_pivot: 0
            thresholds: {review: 0.4, throttle: 0.6, block: 0.8}
            minimum_exchanges: 5
            allowlist:
              accounts: [acct-partner]
              email_domains: [Partner.Example]
            tiers:
              free: {requests_per_minute: 10}
              hobby: {daily_exchanges: 30}
            model_max_tokens: {big-model: 64000}
            pivot_window_hours: 12
            shared_template_accounts: 25
            """)
        #expect(p.weight(.volume) == 0.9)
        #expect(p.weight(.modelPivot) == 0)
        #expect(p.weight(.outputVolume) == Policy.default.weight(.outputVolume))
        #expect(p.thresholds == .init(review: 0.4, throttle: 0.6, block: 0.8))
        #expect(p.minimumExchanges == 5)
        #expect(p.allowlist.accounts == ["acct-partner"])
        #expect(p.allowlist.emailDomains == ["partner.example"])
        #expect(p.tiers["free"]?.requestsPerMinute == 10)
        #expect(p.tiers["free"]?.dailyExchanges == Policy.default.tiers["free"]?.dailyExchanges)
        #expect(p.tiers["hobby"]?.dailyExchanges == 30)
        // Output tokens follow the exchanges given (Policy.md: 1,000 × daily_exchanges); the
        // rate limit of a new tier is the default tier's.
        #expect(p.tiers["hobby"]?.dailyOutputTokens == 30_000)
        #expect(p.tiers["hobby"]?.requestsPerMinute == Policy.default.defaultTier.requestsPerMinute)
        #expect(p.tiers["free"]?.dailyOutputTokens == Policy.default.tiers["free"]?.dailyOutputTokens)
        let both = try PolicyFile.load(yaml: "tiers:\n  free: {daily_exchanges: 10, daily_output_tokens: 99}\n")
        #expect(both.tiers["free"]?.dailyExchanges == 10 && both.tiers["free"]?.dailyOutputTokens == 99)
        #expect(p.modelMaxTokens["big-model"] == 64000)
        #expect(p.pivotWindowHours == 12)
        #expect(p.sharedTemplateAccounts == 25)
    }

    @Test func emptyFileIsTheDefault() throws {
        #expect(try PolicyFile.load(yaml: "") == Policy.default)
    }

    @Test(arguments: [
        ("weights:\n  volum: 0.5\n", 2, "unknown signal \"volum\""),
        ("weights:\n  volume: 1.5\n", 2, "between 0 and 1"),
        ("thresholds: {review: 0.9, throttle: 0.5}\n", 1, "review <= throttle <= block"),
        ("minimum_exchanges: -3\n", 1, "whole number"),
        ("colour: blue\n", 1, "unknown setting \"colour\""),
        ("allowlist:\n  accounts: acct-1\n", 2, "must be a list"),
        ("tiers:\n  free: {rpm: 3}\n", 2, "unknown tier setting \"rpm\""),
        ("tiers:\n  FREE: {daily_exchanges: 5}\n  free: {daily_exchanges: 9}\n", 3, "tier \"free\" is tier \"FREE\" again"),
        ("shared_template_accounts: 1\n", 1, "must be at least 2"),
        ("release_grace_hours: 1e300\n", 1, "must be at most 1000000000000"),
        // Quoted, a number or a boolean is YAML's text: other readers of the file see a string.
        ("weights:\n  volume: \"0.5\"\n", 2, "weights.volume must be a number, not the quoted text \"0.5\" (write it without quotes)"),
        ("minimum_exchanges: '5'\n", 1, "must be a whole number, not the quoted text \"5\""),
        ("campaigns:\n  enabled: \"false\"\n", 2, "campaigns.enabled must be true or false, not the quoted text \"false\""),
    ] as [(String, Int, String)])
    func errorsNameTheLineAndTheProblem(_ yaml: String, _ line: Int, _ message: String) {
        #expect {
            try PolicyFile.load(yaml: yaml, source: "p.yaml")
        } throws: { error in
            guard let e = error as? PolicyFileError else { return false }
            return e.line == line && e.message.contains(message) && e.description.hasPrefix("p.yaml:\(line): ")
        }
    }

    @Test func invalidYAMLIsAnError() {
        #expect(throws: PolicyFileError.self) { try PolicyFile.load(yaml: "weights: [unclosed") }
    }

    /// A setting given twice names the second occurrence's line and the first's, not the
    /// mapping's start with the whole file as "context".
    @Test func aSettingGivenTwiceNamesBothLines() {
        let cases: [(String, Int, String)] = [
            ("thresholds: {review: 0.5, throttle: 0.6, block: 0.7}\n# filler\nthresholds: {review: 0.1}\n", 3,
             #""thresholds" is given more than once in one mapping (first on line 1); each setting once"#),
            ("minimum_exchanges: 5\ntiers:\n  free:\n    daily_exchanges: 10\n    daily_exchanges: 20\n", 5,
             #""daily_exchanges" is given more than once in one mapping (first on line 4); each setting once"#),
        ]
        for (yaml, line, message) in cases {
            #expect(performing: { try PolicyFile.load(yaml: yaml) }, throws: { error in
                guard let e = error as? PolicyFileError else { return false }
                return e.line == line && e.message == message
            })
        }
    }
}

@Suite struct ExamplePolicyTests {
    static let examplePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples/policy.yaml").path

    @Test func theExamplePolicyRestatesEveryDefault() throws {
        let text = try String(contentsOfFile: Self.examplePath, encoding: .utf8)
        let p = try PolicyFile.load(yaml: text, source: Self.examplePath)
        #expect(p == Policy.default)
        // Written by `distillwatch policy show`: regenerate it when a default changes.
        #expect(text == PolicyFile.render(.default),
                "Examples/policy.yaml is stale: run `distillwatch policy show > Examples/policy.yaml`")
    }

    @Test func theExampleNamesEverySettingTheFormatHas() throws {
        let text = try String(contentsOfFile: Self.examplePath, encoding: .utf8)
        for kind in SignalKind.allCases { #expect(text.contains("  \(kind.rawValue): "), "\(kind.rawValue)") }
        for kind in LinkEvidenceKind.allCases { #expect(text.contains("    \(kind.rawValue): "), "\(kind.rawValue)") }
        for kind in CampaignSignalKind.allCases { #expect(text.contains("    \(kind.rawValue): "), "\(kind.rawValue)") }
        for tier in Policy.default.tiers.keys { #expect(text.contains("  \(tier): {"), "\(tier)") }
        for kind in Directive.Kind.allCases { #expect(text.contains(kind.rawValue), "\(kind.rawValue)") }
        for key in ["minimum_exchanges:", "shared_template_accounts:", "release_grace_hours:", "pivot_window_hours:",
                    "default_tier:", "model_max_tokens:", "common_email_domains:", "link_threshold:", "attach_threshold:",
                    "minimum_accounts:", "enabled:", "payment_fingerprints:", "email_domains:", "countermeasures:", "rules:"] {
            #expect(text.contains(key), "\(key)")
        }
    }
}

@Suite struct PolicyRenderingTests {
    /// Strings a careless YAML writer would turn into something else.
    static let awkward = ["yes", "No", "null", "~", "0123", "-1", ".5", "a: b", "#x", "[x]", "{x}", "quote\"d",
                          "back\\slash", "tab\tnew\nline", "ünïcödé", "emoji 🚀", "", " lead", "trail ", "*ref", "&a", "!tag",
                          "%dir", "@at", "`tick`", "a,b", "\u{7F}del", "\u{85}nel", "\u{2028}ls"]

    @Test func aRenderedPolicyReadsBackEqual() throws {
        var rng = SplitMix64(seed: 7)
        for round in 0..<200 {
            var p = Policy.default
            for kind in SignalKind.allCases { p.setWeight(Double(rng.next() % 1001) / 1000, for: kind) }
            let a = Double(rng.next() % 1001) / 1000, b = Double(rng.next() % 1001) / 1000, c = Double(rng.next() % 1001) / 1000
            let sorted = [a, b, c].sorted()
            p.thresholds = .init(review: sorted[0], throttle: sorted[1], block: sorted[2])
            p.minimumExchanges = Int(rng.next() % 10_000)
            let pick = { (rng: inout SplitMix64) -> String in
                rng.next() % 3 == 0 ? Self.awkward[Int(rng.next() % UInt64(Self.awkward.count))] : "id-\(rng.next() % 1000)"
            }
            p.allowlist.accounts = Set((0..<Int(rng.next() % 4)).map { _ in pick(&rng) })
            p.allowlist.paymentFingerprints = Set((0..<Int(rng.next() % 3)).map { _ in pick(&rng) })
            p.allowlist.emailDomains = Set((0..<Int(rng.next() % 3)).map { _ in pick(&rng).lowercased() })
            p.tiers["tier-\(round % 5)"] = .init(dailyExchanges: Double(1 + rng.next() % 100_000) / 4,
                                                 dailyOutputTokens: Double(1 + rng.next() % 1_000_000_000),
                                                 requestsPerMinute: 0.1 + Double(rng.next() % 1000))
            p.modelMaxTokens = Dictionary(uniqueKeysWithValues: (0..<Int(rng.next() % 3)).map { i in ("\(pick(&rng))#\(i)", Int(rng.next() % 200_000)) })
            p.pivotWindowHours = 0.25 + Double(rng.next() % 1000)
            p.releaseGraceHours = Double(rng.next() % 1000) / 3
            p.sharedTemplateAccounts = Double(2 + rng.next() % 100)
            p.campaigns.enabled = rng.next() % 2 == 0
            p.campaigns.linkThreshold = 0.5 + Double(rng.next() % 100) / 10
            p.campaigns.attachThreshold = p.campaigns.linkThreshold / 2
            p.campaigns.minimumAccounts = Int(2 + rng.next() % 50)
            for kind in LinkEvidenceKind.allCases { p.campaigns.setWeight(Double(rng.next() % 3000) / 1000, for: kind) }
            for kind in CampaignSignalKind.allCases { p.campaigns.setWeight(Double(rng.next() % 1001) / 1000, for: kind) }
            p.campaigns.commonEmailDomains.formUnion((0..<Int(rng.next() % 3)).map { _ in "mail-\(rng.next() % 50).example" })
            p.countermeasures.enabled = rng.next() % 4 != 0
            if rng.next() % 2 == 0 {
                p.countermeasures.rules = (0..<Int(1 + rng.next() % 5)).map { i in
                    let verdict = Verdict.allCases[Int(rng.next() % 4)]
                    var directives: [Directive] = [.withholdReasoning, .capMaxTokens(Int(1 + rng.next() % 100_000)),
                                                   .rateLimit(requestsPerMinute: Int(1 + rng.next() % 600)), .denyPrefill,
                                                   .requireVerification, .disableThinking, .summarizeReasoning]
                        .filter { _ in rng.next() % 2 == 0 }
                    if verdict == .block { directives.append(.block) }
                    if directives.isEmpty { directives = [.summarizeReasoning] }
                    let signal: SignalKind? = rng.next() % 2 == 0 ? SignalKind.allCases[Int(rng.next() % UInt64(SignalKind.allCases.count))] : nil
                    return CountermeasureRule(
                        name: "\(pick(&rng)) \(i)", verdict: verdict,
                        score: rng.next() % 2 == 0 ? Double(rng.next() % 1001) / 1000 : nil, signal: signal,
                        family: signal == nil && rng.next() % 2 == 0 ? DataFamily.allCases[Int(rng.next() % UInt64(DataFamily.allCases.count))] : nil,
                        atLeast: Double(rng.next() % 1001) / 1000, campaign: rng.next() % 2 == 0, unverified: rng.next() % 2 == 0,
                        signupRisk: rng.next() % 3 == 0 ? Double(rng.next() % 1001) / 1000 : nil, directives: directives)
                }
                // atLeast is written only with a signal or family.
                for i in p.countermeasures.rules.indices where p.countermeasures.rules[i].signal == nil && p.countermeasures.rules[i].family == nil {
                    p.countermeasures.rules[i].atLeast = 0.5
                }
            }

            for factor in SignupRisk.Factor.allCases { p.signup.weights[factor] = Double(rng.next() % 1001) / 1000 }
            p.signup.burstAccounts = Int(3 + rng.next() % 500)
            p.signup.pathwayTiers = Set((0..<Int(rng.next() % 3)).map { _ in pick(&rng).lowercased() })
            p.signup.throwawayDomains = Set((0..<Int(rng.next() % 3)).map { _ in "temp-\(rng.next() % 50).example" })
            p.modelAccess.rules = (0..<Int(rng.next() % 3)).map { i in
                ModelAccessRule(model: rng.next() % 2 == 0 ? "model-\(i)" : "family-\(i)-*",
                                allowedCountries: rng.next() % 2 == 0 ? ["US", "GB"] : nil, deniedCountries: ["KP", "IR"],
                                allowedTiers: rng.next() % 2 == 0 ? ["enterprise", pick(&rng).lowercased()] : nil)
            }

            let text = PolicyFile.render(p)
            let back = try PolicyFile.load(yaml: text, source: "round \(round)")
            #expect(back == p, "round \(round):\n\(text)")
            #expect(PolicyFile.render(back) == text)
        }
    }

    @Test func everyAwkwardStringSurvivesAsAnAllowlistEntry() throws {
        var p = Policy.default
        p.allowlist.accounts = Set(Self.awkward)
        let back = try PolicyFile.load(yaml: PolicyFile.render(p))
        #expect(back.allowlist.accounts == Set(Self.awkward))
    }
}

@Suite struct CampaignPolicyFileTests {
    @Test func campaignSettingsOverrideTheDefaults() throws {
        let p = try PolicyFile.load(yaml: """
            campaigns:
              enabled: false
              link_threshold: 1.2
              attach_threshold: 0.7
              minimum_accounts: 5
              evidence_weights: {shared_payment: 0.9, signup_burst: 0}
              signal_weights: {proxy_rotation: 0.5}
              common_email_domains: [Corp-Mail.example]
            """)
        #expect(!p.campaigns.enabled)
        #expect(p.campaigns.linkThreshold == 1.2)
        #expect(p.campaigns.attachThreshold == 0.7)
        #expect(p.campaigns.minimumAccounts == 5)
        #expect(p.campaigns.weight(.sharedPayment) == 0.9)
        #expect(p.campaigns.weight(.signupBurst) == 0)
        #expect(p.campaigns.weight(.sharedAddress) == Policy.default.campaigns.weight(.sharedAddress))
        #expect(p.campaigns.weight(.proxyRotation) == 0.5)
        #expect(p.campaigns.commonEmailDomains.contains("corp-mail.example"))
        #expect(p.campaigns.commonEmailDomains.contains("gmail.com"))
    }

    @Test func campaignMistakesNameTheLine() {
        func failure(_ yaml: String) -> PolicyFileError? {
            do { _ = try PolicyFile.load(yaml: yaml, source: "p.yaml"); return nil } catch let e as PolicyFileError { return e } catch { return nil }
        }
        let unknownKind = failure("campaigns:\n  evidence_weights:\n    shared_card: 0.5\n")
        #expect(unknownKind?.line == 3)
        #expect(unknownKind?.message.contains("unknown evidence \"shared_card\"") == true)
        #expect(unknownKind?.message.contains("shared_payment") == true)
        let unknownSetting = failure("campaigns:\n  treshold: 1\n")
        #expect(unknownSetting?.line == 2)
        #expect(unknownSetting?.message.contains("link_threshold") == true)
        let inverted = failure("campaigns:\n  link_threshold: 0.5\n  attach_threshold: 0.8\n")
        #expect(inverted?.message.contains("must not exceed") == true)
        #expect(failure("campaigns:\n  enabled: maybe\n")?.message.contains("true or false") == true)
        #expect(failure("campaigns:\n  minimum_accounts: 1\n")?.message.contains("at least 2") == true)
        #expect(failure("campaigns:\n  signal_weights: {proxy_rotation: 2}\n")?.message.contains("between 0 and 1") == true)
    }
}

/// The `countermeasures` section: rules, directives with numbers, and mistakes named by line.
@Suite struct CountermeasurePolicyFileTests {
    static func failure(_ yaml: String) -> PolicyFileError? {
        do { _ = try PolicyFile.load(yaml: yaml, source: "p.yaml"); return nil } catch let e as PolicyFileError { return e } catch { return nil }
    }

    @Test func rulesReplaceTheBuiltInOnes() throws {
        let p = try PolicyFile.load(yaml: """
            countermeasures:
              rules:
                - name: reasoning for suspects
                  when: {verdict: review, family: content, at_least: 0.4}
                  apply: [withhold_reasoning, {cap_max_tokens: 2048}]
                - name: slow down
                  when: {verdict: throttle, unverified: true}
                  apply: [{rate_limit: 10/min}, require_verification]
                - name: campaigns
                  when: {campaign: true, score: 0.6}
                  apply: [deny_prefill]
                - name: block
                  when: {verdict: block}
                  apply: [block]
            """)
        let rules = p.countermeasures.rules
        #expect(rules.count == 4 && p.countermeasures.enabled)
        #expect(rules[0] == CountermeasureRule(name: "reasoning for suspects", verdict: .review, family: .content, atLeast: 0.4,
                                               directives: [.withholdReasoning, .capMaxTokens(2_048)]))
        #expect(rules[1].directives == [.rateLimit(requestsPerMinute: 10), .requireVerification] && rules[1].unverified)
        #expect(rules[2].campaign && rules[2].score == 0.6 && rules[2].verdict == .review)
        #expect(try PolicyFile.load(yaml: "countermeasures: {enabled: false}").countermeasures
                == CountermeasurePolicy(enabled: false, rules: CountermeasurePolicy.default.rules))
    }

    @Test func mistakesNameTheLineAndWhatIsKnown() {
        let blocks = Self.failure("countermeasures:\n  rules:\n    - name: x\n      when: {verdict: throttle}\n      apply: [block]\n")
        #expect(blocks?.line == 3)
        #expect(blocks?.message.contains("never blocks on its own") == true)
        let unknown = Self.failure("countermeasures:\n  rules:\n    - name: x\n      apply: [withold_reasoning]\n")
        #expect(unknown?.line == 4)
        #expect(unknown?.message.contains("unknown directive \"withold_reasoning\"") == true)
        #expect(unknown?.message.contains("withhold_reasoning") == true)
        #expect(Self.failure("countermeasures:\n  rules:\n    - name: x\n      apply: [cap_max_tokens]\n")?.message
                .contains("needs a number, as {cap_max_tokens: N}") == true)
        #expect(Self.failure("countermeasures:\n  rules:\n    - name: x\n      apply: [{cap_max_tokens: 0}]\n")?.message
                .contains("whole number from 1 to 1000000000 (tokens)") == true)
        #expect(Self.failure("countermeasures:\n  rules:\n    - name: x\n      apply: [{rate_limit: fast}]\n")?.message
                .contains("(requests a minute)") == true)
        #expect(Self.failure("countermeasures:\n  rules:\n    - name: x\n      apply: [{block: 1}]\n")?.message
                .contains("takes no number") == true)
        #expect(Self.failure("countermeasures:\n  rules:\n    - when: {verdict: review}\n      apply: [block]\n")?.message
                .contains("needs a name") == true)
        #expect(Self.failure("countermeasures:\n  rules:\n    - name: x\n      when: {verdict: review}\n")?.message
                .contains("needs apply") == true)
        #expect(Self.failure("countermeasures:\n  rules:\n    - name: x\n      when: {verdict: sometimes}\n      apply: [block]\n")?.line == 4)
        #expect(Self.failure("countermeasures:\n  rules:\n    - name: x\n      when: {signal: cot}\n      apply: [block]\n")?.message
                .contains("cot_elicitation") == true)
        #expect(Self.failure("countermeasures:\n  rules:\n    - name: x\n      when: {at_least: 2}\n      apply: [block]\n")?.message
                .contains("between 0 and 1") == true)
        #expect(Self.failure("countermeasures:\n  rules:\n    - name: x\n      when: {signal: volume, family: content}\n      apply: [deny_prefill]\n")?.message
                .contains("use one") == true)
        #expect(Self.failure("countermeasures:\n  rules:\n    - {name: x, apply: [deny_prefill]}\n    - {name: x, apply: [deny_prefill]}\n")?.message
                .contains("used by an earlier rule") == true)
        #expect(Self.failure("countermeasures:\n  rule: []\n")?.message.contains("known: enabled, rules") == true)
        #expect(Self.failure("countermeasures:\n  rules: {a: 1}\n")?.message.contains("list of rules") == true)
    }
}

@Suite struct ModelAccessPolicyFileTests {
    @Test func rulesReadBackAndMistakesNameTheLine() throws {
        let p = try PolicyFile.load(yaml: """
            model_access:
              - {model: "frontier-*", allowed_countries: [us, GB], allowed_tiers: [Enterprise]}
              - model: open-model
                denied_countries: [KP]
            """)
        #expect(p.modelAccess.rules == [
            ModelAccessRule(model: "frontier-*", allowedCountries: ["US", "GB"], allowedTiers: ["enterprise"]),
            ModelAccessRule(model: "open-model", deniedCountries: ["KP"]),
        ])
        #expect(try PolicyFile.load(yaml: PolicyFile.render(p)) == p)
        func failure(_ yaml: String) -> PolicyFileError? {
            do { _ = try PolicyFile.load(yaml: yaml, source: "p.yaml"); return nil } catch let e as PolicyFileError { return e } catch { return nil }
        }
        let country = failure("model_access:\n  - model: m\n    allowed_countries: [USA]\n")
        #expect(country?.line == 3 && country?.message.contains("two-letter ISO 3166-1 codes") == true)
        #expect(failure("model_access:\n  - {model: m}\n")?.message.contains("restricts nothing") == true)
        #expect(failure("model_access:\n  - {allowed_tiers: [a]}\n")?.message.contains("needs a model") == true)
        #expect(failure("model_access:\n  - {model: m, allowed_countries: [US], denied_countries: [us]}\n")?.message
                .contains("both allows and denies US") == true)
        #expect(failure("model_access:\n  - {model: m, tiers: [a]}\n")?.message.contains("allowed_tiers") == true)
        #expect(failure("model_access: {model: m}\n")?.message.contains("must be a list") == true)
    }
}

/// Found by `fuzz-policy-file`: a rate of 2×10^98 requests a minute made the engine's
/// UInt32 conversion trap. The file is refused by field; a policy built in code with such
/// values runs without trapping (its conversions clamp).
@Suite struct PolicyFuzzRegressionTests {
    @Test func anAbsurdRateIsRefusedByField() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("Fixtures/fuzz/policy-huge-requests-per-minute.yaml").path
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
        #expect {
            try PolicyFile.load(yaml: text, source: "p.yaml")
        } throws: { error in
            "\(error)".contains("default_tier.requests_per_minute must be at most 1000000000000")
        }
    }

    @Test func anEngineWithExtremePolicyNumbersDoesNotTrap() {
        var policy = Policy.default
        policy.defaultTier = Policy.TierProfile(dailyExchanges: 1e-300, dailyOutputTokens: .greatestFiniteMagnitude,
                                                requestsPerMinute: .greatestFiniteMagnitude)
        policy.pivotWindowHours = .greatestFiniteMagnitude
        policy.releaseGraceHours = -.greatestFiniteMagnitude
        var scanner = TrafficScanner(policy: policy, toleranceMilliseconds: 0)
        let t0 = Timestamp(rfc3339: "2026-03-02T00:00:00Z")!
        for i in 0..<200 {
            scanner.observe(Exchange(time: t0.adding(seconds: Double(i)), accountID: "a\(i % 3)", model: i < 100 ? "m1" : "m2",
                                     outputTokens: 1000, status: 429))
        }
        let report = scanner.finish(generatedAt: t0)
        #expect(report.input.exchanges == 200)
    }
}
