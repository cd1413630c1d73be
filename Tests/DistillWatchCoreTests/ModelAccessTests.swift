@testable import DistillWatchCore
import Testing

/// The model access policy (Documentation/Countermeasures.md, "Model access"): who may use
/// which model, judged on the address, declared and payment countries and the tier; and the
/// `access_evasion` signal for addresses that contradict the declared country.
@Suite struct ModelAccessTests {
    let t0 = Timestamp(rfc3339: "2026-06-01T10:00:00Z")!
    static let frontier = ModelAccessRule(model: "frontier-*", allowedCountries: ["US", "GB", "DE"], allowedTiers: ["enterprise", "research"])
    static let open = ModelAccessRule(model: "open-model", deniedCountries: ["KP"])

    @Test func rulesJudgeEveryKnownCountryAndTheTier() {
        let p = ModelAccessPolicy(rules: [Self.frontier, Self.open])
        let us = AccountRecord(accountID: "a", tier: "enterprise", declaredCountry: "US", paymentCountry: "US")
        #expect(p.judge(model: "frontier-large", addressCountry: "us", record: us) == nil)
        #expect(p.judge(model: "frontier-large", addressCountry: "CN", record: us)
                == ModelAccessDenial(model: "frontier-large", basis: .addressCountry, value: "CN"))
        var declared = us
        declared.declaredCountry = "CN"
        #expect(p.judge(model: "frontier-large", addressCountry: nil, record: declared)?.basis == .declaredCountry)
        var paying = us
        paying.paymentCountry = "RU"
        #expect(p.judge(model: "frontier-large", addressCountry: "US", record: paying)?.basis == .paymentCountry)
        var free = us
        free.tier = "free"
        let denial = p.judge(model: "frontier-small", addressCountry: "US", record: free)
        #expect(denial?.basis == .tier && denial?.description == "model frontier-small is not available to the free tier")
        #expect(p.judge(model: "frontier-large", addressCountry: nil, record: nil)?.basis == .tier, "no record: no tier")
        #expect(p.judge(model: "open-model", addressCountry: "KP", record: nil)?.description
                == "model open-model is not available to requests from KP")
        #expect(p.judge(model: "open-model", addressCountry: "FR", record: nil) == nil)
        #expect(p.judge(model: "other-model", addressCountry: "KP", record: nil) == nil, "an unlisted model is open")
    }

    func exchange(_ account: String, _ k: Int, model: String, country: String?) -> Exchange {
        var e = Exchange(time: t0.adding(seconds: Double(k) * 60), accountID: account)
        e.model = model
        e.country = country
        e.outputTokens = 100
        return e
    }

    /// Traffic to a restricted model from a country it is not available in, by an account
    /// that declared one where it is: flagged as evasion with the evidence, as paying from
    /// such a country is; an account honest about where it is, is not.
    @Test func addressesThatContradictTheDeclaredCountryAreEvasion() throws {
        var policy = Policy.default
        policy.modelAccess = ModelAccessPolicy(rules: [Self.frontier])
        var engine = DetectionEngine(policy: policy)
        engine.register(AccountRecord(accountID: "evader", tier: "enterprise", declaredCountry: "US"))
        engine.register(AccountRecord(accountID: "traveller", tier: "enterprise", declaredCountry: "GB"))
        engine.register(AccountRecord(accountID: "payer", tier: "enterprise", declaredCountry: "DE", paymentCountry: "CN"))
        for k in 0..<40 {
            _ = engine.observe(exchange("evader", k, model: "frontier-large", country: k % 4 == 0 ? "US" : "CN"))
            _ = engine.observe(exchange("traveller", k, model: "frontier-large", country: k == 7 ? "FR" : "GB"))
            _ = engine.observe(exchange("payer", k, model: "frontier-large", country: "DE"))
            _ = engine.observe(exchange("other", k, model: "open-model", country: "CN"))
        }
        let evasion = try #require(engine.readings(for: "evader").first { $0.kind == .accessEvasion })
        #expect(evasion.value == 1)
        #expect(evasion.detail == "30 of its 40 exchanges to country-restricted models came from addresses in CN (most recent), "
                + "where they are not available, while it declared US")
        #expect(engine.decision(for: "evader").verdict >= .throttle, "weight 0.8 alone: \(engine.decision(for: "evader"))")
        // France is not allowed either, but one trip is not evasion (3 needed).
        #expect(engine.readings(for: "traveller").first { $0.kind == .accessEvasion }?.value == 0)
        let payer = try #require(engine.readings(for: "payer").first { $0.kind == .accessEvasion })
        #expect(payer.value == 0.8 && payer.detail.contains("it pays from CN"))
        #expect(engine.readings(for: "other").first { $0.kind == .accessEvasion }?.value == 0, "an unrestricted model")
        // Without rules, nothing is counted.
        var open = DetectionEngine()
        open.register(AccountRecord(accountID: "evader", declaredCountry: "US"))
        for k in 0..<40 { _ = open.observe(exchange("evader", k, model: "frontier-large", country: "CN")) }
        #expect(open.readings(for: "evader").first { $0.kind == .accessEvasion }?.value == 0)
    }
}
