import DistillWatchIngest
import DistillWatchCore
import DistillWatchStore
import Hummingbird

/// `POST /v1/decide`: a gateway asks, before serving a request, what to do with it.
///
/// The answer comes from the engine's current state for the account (as of the traffic
/// ingested so far, less what still waits in the reorder buffer); an account never seen
/// is allowed. The call itself is not traffic: the gateway reports the exchange later
/// through `POST /v1/exchanges`.
struct DecisionRoutes {
    let state: ServerState

    func build() -> RouteCollection<DistillWatchRequestContext> {
        let routes = RouteCollection(context: DistillWatchRequestContext.self)
        routes.add(middleware: RequireRole(.decide))
        routes.post("decide") { request, context in try await decide(request, context: context) }
        return routes
    }

    func decide(_ request: Request, context: DistillWatchRequestContext) async throws -> ShardedAnswer<DecideResponse> {
        let start = ContinuousClock.now
        defer { state.metrics.duration("decide", since: start) }
        let body = try await request.collectBody(limit: state.configuration.maxRequestBodyBytes, setting: "max_request_body_bytes")
        let ask: DecideRequest
        do {
            // The plain shape on the fast path; anything else through Foundation's decoder,
            // which names the problem.
            ask = try body.withUnsafeReadableBytes(DecideRequest.scanned) ?? decodeJSON(DecideRequest.self, from: body)
        } catch let error as HTTPError where error.body?.contains("account_id") == true {
            // An LLM request body sent here is Envoy's ext_authz pointed at the exact path.
            let looksForwarded = body.readableBytesView.count < 1 << 20
                && (String(buffer: body).contains("\"messages\"") || String(buffer: body).contains("\"model\""))
            guard looksForwarded else { throw error }
            throw HTTPError(.badRequest, message: (error.body ?? "") + " (this looks like a client's request forwarded by Envoy's ext_authz: "
                + "set http_service.path_prefix to \(state.configuration.envoyPathPrefix) or /v1/decide, so that the client's path follows it)")
        }
        guard !ask.accountID.isEmpty else { throw HTTPError(.badRequest, message: "field \"account_id\": is empty") }
        if let problem = RecordLimits.problem(identifier: ask.accountID, field: "account_id") {
            throw HTTPError(.badRequest, message: problem.description)
        }
        if let key = ask.apiKeyID, key.isEmpty || key.utf8.count > 256 {
            throw HTTPError(.badRequest, message: "field \"api_key_id\": must be 1 to 256 bytes, got \(key.utf8.count)")
        }
        // The limits an exchange's fields have (RecordLimits), so that a decide body is held
        // to what the same values would be held to in the traffic.
        if let problem = RecordLimits.problem(count: ask.maxTokens, field: "max_tokens", maximum: RecordLimits.maximumTokens)
            ?? RecordLimits.problem(measure: ask.temperature, field: "temperature", maximum: RecordLimits.maximumTemperature, unit: "") {
            throw HTTPError(.badRequest, message: problem.description)
        }
        if let shards = state.shards {
            switch try await shards.route(ask.accountID, request: request, body: body, endpoint: "decide") {
            case .local: break
            case .forwarded(let answer): return .forwarded(answer)
            case .ownerUnavailable(let reason):
                var response = DecideResponse(ask.accountID, LiveDecision(decision: .unknownAccount, known: false, reasons: [], label: nil),
                                              key: ask.apiKeyID)
                response.reasons = [DecideResponse.Reason(signal: "owner_unavailable", value: 0, contribution: 0, detail: reason)]
                state.metrics.decided(.allow, endpoint: "decide")
                state.audit.record(DecisionAuditEntry(
                    at: state.clock.now(), accountID: ask.accountID, verdict: .allow, score: 0, reasons: [reason], endpoint: "decide",
                    caller: context.token?.name, requestID: ask.requestID), always: true)
                return .local(response)
            }
        }
        let live = state.engine.decide(ask.accountID, key: ask.apiKeyID)
        let now = state.clock.now()
        let judgement = state.countermeasures.judge(
            live, accountID: ask.accountID,
            request: GatewayRequestFacts(prefill: ask.prefill, maxTokens: ask.maxTokens, thinking: ask.thinking,
                                         model: ask.model, addressCountry: ask.country),
            endpoint: "decide", at: now, count: ask.dryRun != true)
        var response = DecideResponse(ask.accountID, live, key: ask.apiKeyID)
        response.directives = judgement.measures.entries
        if let refusal = judgement.refusal {
            response.refusal = DecideResponse.Refusal(
                refusal, message: state.countermeasures.message(judgement, accountID: ask.accountID, live: live) ?? "")
        }
        state.metrics.decided(response.verdict, endpoint: "decide")
        state.audit.record(DecisionAuditEntry(
            at: now, accountID: ask.accountID, verdict: response.verdict, score: response.score,
            reasons: response.reasons.map(\.signal), endpoint: "decide", caller: context.token?.name, requestID: ask.requestID,
            directives: judgement.auditTokens), always: judgement.refusal != nil)
        return .local(response)
    }
}

struct DecideResponse: Encodable, Sendable {
    struct Reason: Encodable, Sendable {
        var signal: String
        var value: Double
        var contribution: Double
        var detail: String
    }

    var accountID: String
    /// The key asked about, its own verdict and score when the engine knows it.
    var apiKeyID: String?
    var keyVerdict: Verdict?
    var keyScore: Double?
    var verdict: Verdict
    var score: Double
    var allowlisted: Bool
    /// The engine has seen traffic or a record for the account.
    var known: Bool
    var analystLabel: AnalystLabel?
    var campaignID: String?
    var reasons: [Reason]
    /// The countermeasures for the account (Documentation/Countermeasures.md).
    var directives: [DirectiveEntry] = []
    /// The account's sign-up risk (0 without an account record).
    var signupRisk: Double = 0
    /// Set when the directives refuse this request: serve it only when absent.
    var refusal: Refusal?

    /// Why the request is refused: the directive, the HTTP status a gateway answers, an
    /// OpenAI-style error code, the message for the client, and for a rate limit the
    /// seconds to wait.
    struct Refusal: Encodable, Sendable, Equatable {
        /// The directive that refused, or `model_access`.
        var directive: String
        var status: Int
        var code: String
        var message: String
        var retryAfterSeconds: Int64?

        init(_ refusal: GatewayRefusal, message: String) {
            directive = refusal.name
            status = refusal.status
            code = refusal.code
            self.message = message
            if case .rateLimited(let ms) = refusal { retryAfterSeconds = CountermeasureService.retryAfterSeconds(ms) }
        }

        enum CodingKeys: String, CodingKey {
            case directive, status, code, message
            case retryAfterSeconds = "retry_after_s"
        }
    }

    init(_ accountID: String, _ live: LiveDecision, key: String? = nil) {
        self.accountID = accountID
        apiKeyID = key
        keyVerdict = live.key?.verdict
        keyScore = live.key.map { rounded4($0.score) }
        verdict = live.decision.verdict
        score = rounded4(live.decision.score)
        allowlisted = live.decision.allowlisted
        known = live.known
        analystLabel = live.label
        // A campaign of the sharded scans' campaign step is named RUN:campaign-N.
        campaignID = live.decision.campaign.map { "campaign-\($0)" } ?? live.campaign?.campaignID
        signupRisk = rounded4(live.signupRisk)
        reasons = live.reasons.map {
            Reason(signal: $0.kind.rawValue, value: rounded4($0.value), contribution: rounded4($0.contribution), detail: $0.detail)
        }
        // A verdict that comes from a campaign names it and its strongest evidence first, as
        // the report does (a member's own signals may be none at all).
        if let c = live.campaign, !live.keyDecides {
            reasons.insert(Reason(signal: "campaign_membership", value: rounded4(c.score), contribution: rounded4(c.score),
                                  detail: c.detail), at: 0)
        }
    }

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case apiKeyID = "api_key_id"
        case keyVerdict = "key_verdict"
        case keyScore = "key_score"
        case verdict, score, allowlisted, known
        case analystLabel = "analyst_label"
        case campaignID = "campaign_id"
        case reasons, directives, refusal
        case signupRisk = "signup_risk"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(accountID, forKey: .accountID)
        if let apiKeyID {
            try c.encode(apiKeyID, forKey: .apiKeyID)
            try c.encode(keyVerdict, forKey: .keyVerdict)
            try c.encode(keyScore, forKey: .keyScore)
        }
        try c.encode(verdict, forKey: .verdict)
        try c.encode(score, forKey: .score)
        try c.encode(allowlisted, forKey: .allowlisted)
        try c.encode(known, forKey: .known)
        try c.encode(analystLabel, forKey: .analystLabel)
        try c.encode(campaignID, forKey: .campaignID)
        try c.encode(reasons, forKey: .reasons)
        try c.encode(directives, forKey: .directives)
        try c.encode(refusal, forKey: .refusal)
        try c.encode(signupRisk, forKey: .signupRisk)
    }
}

/// Four decimals, as in the v1 report.
func rounded4(_ x: Double) -> Double {
    (x * 10_000).rounded() / 10_000
}
