/// One rule of the countermeasure policy: when every condition holds for an account, its
/// directives apply.
///
/// Conditions (all optional, all must hold):
/// - `verdict`: the account's verdict is at least this (default `review`: a rule never
///   acts on an allowed account unless it says `verdict: allow`);
/// - `score`: the account's score is at least this;
/// - `signal` with `at_least`: the reading of one signal is at least this value;
/// - `family`: some signal that needs this data family (``DataFamily``, e.g. `content`)
///   read at least `at_least`;
/// - `campaign`: the account is a member of a flagged campaign;
/// - `unverified`: the account has not passed identity verification;
/// - `signup_risk`: its sign-up risk (``SignupRisk``) is at least this, which applies
///   before its first request.
public struct CountermeasureRule: Sendable, Equatable {
    public var name: String
    public var verdict: Verdict
    public var score: Double?
    public var signal: SignalKind?
    public var family: DataFamily?
    /// The reading `signal` or `family` must reach, in [0, 1].
    public var atLeast: Double
    public var campaign: Bool
    public var unverified: Bool
    public var signupRisk: Double?
    public var directives: [Directive]

    public init(name: String, verdict: Verdict = .review, score: Double? = nil, signal: SignalKind? = nil,
                family: DataFamily? = nil, atLeast: Double = 0.5, campaign: Bool = false, unverified: Bool = false,
                signupRisk: Double? = nil, directives: [Directive]) {
        self.signupRisk = signupRisk
        self.name = name
        self.verdict = verdict
        self.score = score
        self.signal = signal
        self.family = family
        self.atLeast = atLeast
        self.campaign = campaign
        self.unverified = unverified
        self.directives = directives
    }

    /// Why the rule cannot be used, or nil. `block` needs `verdict: block`: a review or
    /// throttle verdict never blocks on its own, whatever else holds.
    public var problem: String? {
        if directives.isEmpty { return "has no directives" }
        if directives.contains(.block), verdict != .block {
            return "applies block without verdict: block (only a block verdict refuses every request; "
                + "a review or throttle verdict never blocks on its own)"
        }
        if let score, !(0...1).contains(score) { return "score must be between 0 and 1, got \(score)" }
        if let signupRisk, !(0...1).contains(signupRisk) { return "signup_risk must be between 0 and 1, got \(signupRisk)" }
        if !(0...1).contains(atLeast) { return "at_least must be between 0 and 1, got \(atLeast)" }
        if signal != nil, family != nil { return "names both a signal and a family; use one" }
        return nil
    }

    /// Whether the rule holds for `subject`.
    /// - Complexity: O(r) in the subject's readings.
    public func holds(for subject: CountermeasureSubject) -> Bool {
        guard subject.verdict >= verdict else { return false }
        if let score, subject.score < score { return false }
        if campaign, !subject.flaggedCampaignMember { return false }
        if unverified, subject.verified { return false }
        if let signupRisk, subject.signupRisk < signupRisk { return false }
        if let signal {
            guard subject.readings.contains(where: { $0.kind == signal && $0.value >= atLeast }) else { return false }
        }
        if let family {
            guard subject.readings.contains(where: { $0.kind.family == family && $0.value >= atLeast }) else { return false }
        }
        return true
    }
}

/// What the countermeasure policy judges an account by: its decision and what is known of it.
public struct CountermeasureSubject: Sendable, Equatable {
    public var verdict: Verdict
    public var score: Double
    /// Its signal readings (at least those that contributed to the score).
    public var readings: [SignalReading]
    /// It passed identity verification (`verified` in its account record, or the verify API).
    public var verified: Bool
    /// It belongs to a campaign whose verdict is flagged.
    public var flaggedCampaignMember: Bool
    /// It is allowlisted, or an analyst labelled it legitimate: no directive applies.
    public var exempt: Bool
    /// Its sign-up risk (``SignupRisk/score``).
    public var signupRisk: Double

    public init(verdict: Verdict, score: Double, readings: [SignalReading], verified: Bool,
                flaggedCampaignMember: Bool, exempt: Bool, signupRisk: Double = 0) {
        self.signupRisk = signupRisk
        self.verdict = verdict
        self.score = score
        self.readings = readings
        self.verified = verified
        self.flaggedCampaignMember = flaggedCampaignMember
        self.exempt = exempt
    }
}

/// How verdicts and signals become graduated countermeasures (Documentation/Countermeasures.md).
///
/// The default escalates with the score: a review verdict gets a summary of the reasoning
/// instead of the reasoning; above 0.65 prefilled answers are refused and answers capped at
/// 8,192 tokens; a throttle verdict withholds reasoning, caps answers at 4,096 tokens, holds
/// the account to 20 requests a minute and asks for identity verification; above 0.85
/// thinking is turned off and the rate falls to 5 a minute; only a block verdict blocks.
/// Signal rules add what fits the evidence: reasoning withheld from chain-of-thought
/// harvesting and reasoning replay, answers capped for pinned parameters, verification for
/// shared keys, quota racing and campaign members, and for a risky sign-up (score 0.5)
/// before its first request.
public struct CountermeasurePolicy: Sendable, Equatable {
    /// Off: no directive is returned, and gateways act on the verdict alone as before
    /// (Envoy refuses `throttle` with 429 and `block` with 403; LiteLLM refuses at
    /// `litellm_refuse_at`).
    public var enabled: Bool
    public var rules: [CountermeasureRule]

    public init(enabled: Bool = true, rules: [CountermeasureRule]) {
        self.enabled = enabled
        self.rules = rules
    }

    /// The directives for `subject`, merged (``Countermeasures/init(merging:)``). An
    /// exempt subject, or a disabled policy, gets none; `require_verification` never
    /// applies to a verified account.
    /// - Complexity: O(rules × readings).
    public func countermeasures(for subject: CountermeasureSubject) -> Countermeasures {
        guard enabled, !subject.exempt else { return .none }
        var found: [AppliedDirective] = []
        for rule in rules where rule.holds(for: subject) {
            for d in rule.directives where !(d == .requireVerification && subject.verified) {
                found.append(AppliedDirective(directive: d, rule: rule.name))
            }
        }
        return found.isEmpty ? .none : Countermeasures(merging: found)
    }

    public static let `default` = CountermeasurePolicy(rules: [
        CountermeasureRule(name: "review", verdict: .review, directives: [.summarizeReasoning]),
        CountermeasureRule(name: "review, score at least 0.65", verdict: .review, score: 0.65,
                           directives: [.denyPrefill, .capMaxTokens(8_192)]),
        CountermeasureRule(name: "throttle", verdict: .throttle,
                           directives: [.withholdReasoning, .capMaxTokens(4_096), .denyPrefill,
                                        .rateLimit(requestsPerMinute: 20), .requireVerification]),
        CountermeasureRule(name: "throttle, score at least 0.85", verdict: .throttle, score: 0.85,
                           directives: [.disableThinking, .rateLimit(requestsPerMinute: 5)]),
        CountermeasureRule(name: "block", verdict: .block, directives: [.block]),
        CountermeasureRule(name: "chain-of-thought harvesting", signal: .cotElicitation, atLeast: 0.5,
                           directives: [.withholdReasoning]),
        CountermeasureRule(name: "reasoning replay", signal: .reasoningReplay, atLeast: 0.3,
                           directives: [.withholdReasoning, .denyPrefill]),
        CountermeasureRule(name: "pinned parameters", signal: .parameterFingerprint, atLeast: 0.5,
                           directives: [.capMaxTokens(4_096)]),
        CountermeasureRule(name: "shared key", signal: .keySharing, atLeast: 0.5, directives: [.requireVerification]),
        CountermeasureRule(name: "quota racing", signal: .quotaRacing, atLeast: 0.5, directives: [.requireVerification]),
        CountermeasureRule(name: "campaign member", campaign: true, directives: [.requireVerification]),
        CountermeasureRule(name: "risky sign-up", verdict: .allow, unverified: true, signupRisk: 0.5,
                           directives: [.requireVerification]),
    ])
}
