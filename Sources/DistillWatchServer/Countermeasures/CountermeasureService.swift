import CoreMetrics
import DistillWatchCore
import Logging
import Synchronization

/// Turns a decision into what a gateway does with one request: the directives the policy
/// calls for (``CountermeasurePolicy``), and the refusal they make, including the
/// `rate_limit` directive, which DistillWatch counts itself (``RequestRateLimiter``, in 16
/// shards of accounts behind their own locks) because every gateway that asks before a
/// request (Envoy's ext_authz, LiteLLM's guardrails, `/v1/decide`) passes it every request.
///
/// Also serves the reasoning directives' text (``reasoning(_:treatment:reasoning:)``) and
/// counts what was applied (``CountermeasureMetrics``).
final class CountermeasureService: Sendable {
    let policy: CountermeasurePolicy
    /// Who may use which model (``ModelAccessPolicy``).
    let modelAccess: ModelAccessPolicy
    let verificationURL: String?
    let summarizer: ReasoningSummarizer?
    let metrics: CountermeasureMetrics
    private final class LimiterShard: Sendable {
        let state = Mutex<(limiter: RequestRateLimiter, admits: Int)>((RequestRateLimiter(), 0))
    }

    private let limiters: [LimiterShard] = (0..<16).map { _ in LimiterShard() }

    init(policy: CountermeasurePolicy, modelAccess: ModelAccessPolicy = ModelAccessPolicy(), verificationURL: String?,
         summarizer: ReasoningSummarizer?, metrics: CountermeasureMetrics) {
        self.policy = policy
        self.modelAccess = modelAccess
        self.verificationURL = verificationURL
        self.summarizer = summarizer
        self.metrics = metrics
    }

    /// Whether directives are in force (``CountermeasurePolicy/enabled``); when not,
    /// gateways act on the verdict alone.
    var enabled: Bool { policy.enabled }

    /// The directives for a decision.
    /// - Complexity: O(rules × reasons).
    func countermeasures(for live: LiveDecision) -> Countermeasures {
        guard policy.enabled, live.known else { return .none }
        let subject = CountermeasureSubject(decision: live.decision, readings: live.reasons, verified: live.verified,
                                            campaign: live.campaign, label: live.label, signupRisk: live.signupRisk)
        return policy.countermeasures(for: subject)
    }

    /// What to do with one request: its directives and, if they refuse it, why. A request
    /// that nothing else refuses is counted against the account's `rate_limit`; `count:
    /// false` (a dry run) looks without counting. Counts each directive issued and each
    /// refusal under `endpoint`.
    ///
    /// Order: `block`; the model access policy (a model not available to the account, on
    /// its tier, declared or payment country or the request's address country; in force
    /// with countermeasures off too); `require_verification`; a prefill under
    /// `deny_prefill`; the rate limit.
    func judge(_ live: LiveDecision, accountID: String, request: GatewayRequestFacts, endpoint: String,
               at time: Timestamp, count: Bool = true) -> RequestJudgement {
        let measures = countermeasures(for: live)
        var refusal: GatewayRefusal?
        if measures.contains(.block) {
            refusal = .blocked
        } else if !modelAccess.isEmpty, let model = request.model,
                  let denial = modelAccess.judge(model: model, addressCountry: request.addressCountry, record: live.accessRecord) {
            refusal = .modelNotAvailable(denial)
        } else {
            refusal = measures.refusal(for: request)
            if refusal == nil, let rate = measures.requestsPerMinute {
                refusal = admit(accountID, requestsPerMinute: rate, at: time, count: count)
            }
        }
        if !measures.isEmpty || refusal != nil { metrics.issued(measures, refusal: refusal, endpoint: endpoint) }
        return RequestJudgement(measures: measures, refusal: refusal)
    }

    private func admit(_ accountID: String, requestsPerMinute: Int, at time: Timestamp, count: Bool) -> GatewayRefusal? {
        let shard = limiters[Int(UInt(bitPattern: accountID.hashValue) & 15)]
        return shard.state.withLock { s -> GatewayRefusal? in
            let outcome = count ? s.limiter.admit(accountID, requestsPerMinute: requestsPerMinute, at: time)
                : s.limiter.peek(accountID, requestsPerMinute: requestsPerMinute, at: time)
            if count {
                s.admits += 1
                if s.admits & 4_095 == 0 { s.limiter.prune(before: time) }
            }
            if case .limited(let ms) = outcome { return .rateLimited(retryAfterMilliseconds: ms) }
            return nil
        }
    }

    /// The sentence a refused client reads (and the audit log keeps).
    func message(_ judgement: RequestJudgement, accountID: String, live: LiveDecision) -> String? {
        guard let refusal = judgement.refusal else { return nil }
        switch refusal {
        case .blocked:
            return live.refusal(of: accountID)
        case .verificationRequired:
            let where_ = verificationURL.map { " at \($0)" } ?? ""
            return "DistillWatch: account \(accountID) must verify its identity\(where_) before further use (\(live.why))"
        case .prefillDenied:
            return "DistillWatch: account \(accountID) may not prefill the assistant's answer (the last message is the assistant's); send the request without it"
        case .modelNotAvailable(let denial):
            return "DistillWatch: \(denial.description) (account \(accountID))"
        case .rateLimited(let ms):
            let rate = judgement.measures.requestsPerMinute.map { "\($0) requests a minute" } ?? "a lower request rate"
            return "DistillWatch: account \(accountID) is limited to \(rate) (\(live.why)); retry in \(Self.retryAfterSeconds(ms)) s"
        }
    }

    /// Whole seconds to wait, at least 1 (`Retry-After`, RFC 9110 §10.2.3).
    static func retryAfterSeconds(_ milliseconds: Int64) -> Int64 {
        max(1, (milliseconds + 999) / 1_000)
    }

    /// The text that replaces an answer's reasoning under `treatment`, and where it came
    /// from: nothing for `withhold`; for `summarize`, the summariser's summary or, without
    /// a summariser or when it fails, a fixed notice that says so (never an invented
    /// summary).
    func reasoning(_ accountID: String, treatment: ReasoningTreatment, reasoning: String, logger: Logger) async -> ReasoningText {
        switch treatment {
        case .serve:
            return ReasoningText(text: reasoning, source: .original, model: nil)
        case .withhold:
            return ReasoningText(text: "", source: .withheld, model: nil)
        case .summarize:
            guard let summarizer else {
                metrics.summary(.notice)
                return ReasoningText(text: ReasoningText.noSummariserNotice, source: .notice, model: nil)
            }
            do {
                let summary = try await summarizer.summarize(reasoning)
                metrics.summary(.summarizer)
                return ReasoningText(text: summary, source: .summarizer, model: summarizer.settings.model)
            } catch {
                metrics.summary(.failed)
                logger.warning("reasoning summariser failed; serving the notice instead",
                               metadata: ["account_id": "\(ConsoleRoutes.logSafe(accountID))", "error": "\(error)"])
                return ReasoningText(text: ReasoningText.failedSummaryNotice, source: .notice, model: nil)
            }
        }
    }
}

/// The directives for one request and the refusal they make, if any.
struct RequestJudgement: Sendable, Equatable {
    var measures: Countermeasures
    var refusal: GatewayRefusal?

    /// The directives as the audit log keeps them, with `refused:<directive>` last when
    /// one refused the request.
    var auditTokens: [String] {
        var tokens = measures.directives.map(\.token)
        if let refusal { tokens.append("refused:" + refusal.name) }
        return tokens
    }
}

/// Reasoning text served in place of the model's.
struct ReasoningText: Sendable, Equatable, Encodable {
    enum Source: String, Sendable, Encodable {
        /// The reasoning as the model wrote it (no directive).
        case original
        /// Removed (`withhold_reasoning`).
        case withheld
        /// Written by the configured summariser model.
        case summarizer
        /// A fixed notice: no summariser is configured, or it failed.
        case notice
    }

    var text: String
    var source: Source
    /// The summariser model, when it wrote the text.
    var model: String?

    static let noSummariserNotice =
        "[Reasoning not shown: the provider serves a summary of the reasoning for this account, and no summariser is configured.]"
    static let failedSummaryNotice =
        "[Reasoning not shown: the provider serves a summary of the reasoning for this account, and the summary could not be made.]"
}

extension LiveDecision {
    /// "score 0.81: output_volume, cot_elicitation" or the campaign: why directives apply.
    var why: String {
        if label == .confirmedAttack { return "confirmed by an analyst" }
        if let campaign { return campaign.detail }
        if decision.verdict == .allow, signupRisk > 0 { return "sign-up risk \(rounded4(signupRisk))" }
        let signals = reasons.prefix(3).map(\.kind.rawValue).joined(separator: ", ")
        return "verdict \(decision.verdict.rawValue), score \(rounded4(decision.score))\(signals.isEmpty ? "" : ": " + signals)"
    }
}

/// The countermeasure counters in `/metrics`:
///
/// | metric | labels |
/// |---|---|
/// | `distillwatch_directives_total` | `directive`, `endpoint`: directives issued with an answer |
/// | `distillwatch_refusals_total` | `directive` (or `model_access`), `endpoint`: requests refused by a directive or the model access policy |
/// | `distillwatch_reasoning_withheld_tokens_total` | `campaign` (`none` outside one), `treatment`: reasoning tokens not served |
/// | `distillwatch_reasoning_summaries_total` | `source` = summarizer, notice, failed |
final class CountermeasureMetrics: Sendable {
    static let endpoints = ["decide", "litellm", "envoy"]
    /// More campaigns than this share the label `other` (a bound on the series).
    static let campaignLabels = 1_000

    private let issuedCounters: [String: [Directive.Kind: MCounter]]
    private let refusedCounters: [String: [String: MCounter]]
    private let summaries: [SummaryOutcome: MCounter]
    private let withheld = Mutex<[String: MCounter]>([:])
    private let factory: any MetricsFactory

    enum SummaryOutcome: String, CaseIterable { case summarizer, notice, failed }

    init(factory: any MetricsFactory) {
        self.factory = factory
        var issued: [String: [Directive.Kind: MCounter]] = [:]
        var refused: [String: [String: MCounter]] = [:]
        for endpoint in Self.endpoints {
            for kind in Directive.Kind.allCases {
                issued[endpoint, default: [:]][kind] = MCounter(
                    label: "distillwatch_directives_total", dimensions: [("directive", kind.rawValue), ("endpoint", endpoint)], factory: factory)
                refused[endpoint, default: [:]][kind.rawValue] = MCounter(
                    label: "distillwatch_refusals_total", dimensions: [("directive", kind.rawValue), ("endpoint", endpoint)], factory: factory)
            }
            refused[endpoint, default: [:]]["model_access"] = MCounter(
                label: "distillwatch_refusals_total", dimensions: [("directive", "model_access"), ("endpoint", endpoint)], factory: factory)
        }
        issuedCounters = issued
        refusedCounters = refused
        summaries = Dictionary(uniqueKeysWithValues: SummaryOutcome.allCases.map {
            ($0, MCounter(label: "distillwatch_reasoning_summaries_total", dimensions: [("source", $0.rawValue)], factory: factory))
        })
    }

    func issued(_ measures: Countermeasures, refusal: GatewayRefusal?, endpoint: String) {
        for d in measures.directives { issuedCounters[endpoint]?[d.kind]?.increment() }
        if let refusal { refusedCounters[endpoint]?[refusal.name]?.increment() }
    }

    func summary(_ outcome: SummaryOutcome) {
        summaries[outcome]?.increment()
    }

    /// Counts reasoning tokens not served to a campaign's member (or `none`).
    func withheld(tokens: Int, campaign: String?, treatment: ReasoningTreatment) {
        guard tokens > 0, treatment != .serve else { return }
        let name = campaign ?? "none"
        let key = name + "\u{0}" + treatment.rawValue
        let counter = withheld.withLock { table -> MCounter in
            if let c = table[key] { return c }
            let label = table.count < Self.campaignLabels * 2 ? name : "other"
            let c = MCounter(label: "distillwatch_reasoning_withheld_tokens_total",
                             dimensions: [("campaign", label), ("treatment", treatment.rawValue)], factory: factory)
            table[key] = c
            return c
        }
        counter.increment(by: tokens)
    }
}
