@testable import DistillWatchCore
import Testing

/// Sign-up risk: scored from account records as they arrive, so that `require_verification`
/// applies before an account's first request (Documentation/Countermeasures.md).
@Suite struct SignupRiskTests {
    let t0 = Timestamp(rfc3339: "2026-06-01T10:05:00Z")!

    func record(_ id: String, domain: String? = nil, payment: String? = nil, tier: String? = "free",
                minutes: Double = 0, verified: Bool? = nil) -> AccountRecord {
        AccountRecord(accountID: id, created: t0.adding(seconds: minutes * 60), tier: tier, paymentFingerprint: payment,
                      emailDomain: domain, verified: verified)
    }

    @Test func aThrowawayDomainAsksForVerificationBeforeTheFirstRequest() {
        var engine = DetectionEngine()
        engine.register(record("acct-t", domain: "Mailinator.com"))
        let risk = engine.signupRisk(for: "acct-t")
        #expect(risk.readings.map(\.factor) == [.throwawayDomain])
        #expect(abs(risk.score - 0.6) < 1e-9)
        #expect(engine.decision(for: "acct-t").verdict == .allow)
        #expect(engine.countermeasures(for: "acct-t").directives == [.requireVerification])
        #expect(engine.countermeasures(for: "acct-t").applied.first?.rule == "risky sign-up")
        engine.register(AccountRecord(accountID: "acct-t", verified: true))
        #expect(engine.countermeasures(for: "acct-t").isEmpty, "a verified sign-up is served")
        // An ordinary sign-up: nothing.
        engine.register(record("acct-o", domain: "university.example"))
        #expect(engine.signupRisk(for: "acct-o") == .none && engine.countermeasures(for: "acct-o").isEmpty)
    }

    /// A burst on one domain within an hour raises every account of it, the first ones
    /// included (the engine lists them as changed, so a server republishes their answers).
    @Test func aBurstRaisesTheWholeCohort() {
        var engine = DetectionEngine()
        engine.tracksChanges = true
        engine.register(record("b-0", domain: "corp-x.example"))
        #expect(engine.signupRisk(for: "b-0") == .none)
        _ = engine.takeChanges()
        for k in 1..<10 { engine.register(record("b-\(k)", domain: "corp-x.example", minutes: Double(k) * 5)) }
        let changed = Set(engine.takeChanges().accounts)
        #expect(changed.contains(0), "the first account is republished")
        let first = engine.signupRisk(for: "b-0")
        #expect(first.readings.first?.factor == .signupBurst)
        #expect(first.readings.first?.value == 1, "10 accounts reach burst_accounts")
        #expect(first.readings.first?.detail.contains("10 accounts opened on corp-x.example") == true)
        #expect(engine.countermeasures(for: "b-0").contains(.requireVerification))
        // The next hour is another cohort; a webmail domain is never a burst.
        engine.register(record("b-late", domain: "corp-x.example", minutes: 60))
        #expect(engine.signupRisk(for: "b-late") == .none)
        for k in 0..<20 { engine.register(record("g-\(k)", domain: "gmail.com")) }
        #expect(engine.signupRisk(for: "g-0") == .none)
    }

    @Test func sharedCardsAndTierPathwaysAddUp() throws {
        var engine = DetectionEngine()
        engine.register(record("p-0", payment: "card-1"))
        engine.register(record("p-1", payment: "card-1"))
        let family = engine.signupRisk(for: "p-0")
        #expect(family.readings.map(\.factor) == [.sharedPayment] && abs(family.score - 0.15) < 1e-9, "two accounts: a family card")
        #expect(engine.countermeasures(for: "p-0").isEmpty)
        for k in 2..<5 { engine.register(record("p-\(k)", payment: "card-1")) }
        #expect(abs(engine.signupRisk(for: "p-1").score - 0.6) < 1e-9, "five accounts on one card")

        engine.register(record("e-1", tier: "education"))
        #expect(abs(engine.signupRisk(for: "e-1").score - 0.25) < 1e-9)
        #expect(engine.countermeasures(for: "e-1").isEmpty, "a pathway tier alone asks nothing")
        engine.register(record("e-2", domain: "yopmail.com", tier: "Education"))
        let both = engine.signupRisk(for: "e-2")
        #expect(both.readings.map(\.factor) == [.throwawayDomain, .tierPathway])
        #expect(abs(both.score - (1 - 0.4 * 0.75)) < 1e-9)

        // A record that changes its card moves the account between cohorts.
        engine.register(AccountRecord(accountID: "p-4", paymentFingerprint: "card-2"))
        #expect(engine.signups.payments.values.map(\.count).sorted() == [1, 4])
    }

    @Test func theIndexSurvivesASnapshot() throws {
        var engine = DetectionEngine()
        for k in 0..<6 { engine.register(record("s-\(k)", domain: "corp-y.example", payment: "card-\(k % 2)")) }
        var w = SnapshotWriter()
        engine.write(to: &w)
        var r = SnapshotReader(w.bytes)
        let restored = try DetectionEngine(policy: .default, from: &r)
        #expect(restored.signups == engine.signups)
        #expect(restored.signupRisk(for: "s-3") == engine.signupRisk(for: "s-3"))
        #expect(engine.signupRisk(for: "s-3").score > 0)
    }
}
