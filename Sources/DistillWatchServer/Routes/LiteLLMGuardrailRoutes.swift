import DistillWatchIngest
import DistillWatchCore
import DistillWatchStore
import Hummingbird

/// Which part of LiteLLM's key metadata names the DistillWatch account.
public enum LiteLLMAccountField: String, Sendable, CaseIterable {
    case orgID = "org_id"
    case teamID = "team_id"
    case userID = "user_id"
    case keyAlias = "key_alias"
    case keyHash = "key_hash"
    /// The OpenAI `user` field of the request: chosen by the client, so only for gateways
    /// that set it themselves.
    case endUserID = "end_user_id"
    /// `additional_provider_specific_params.account_id`, from the guardrail's configuration
    /// or the request's dynamic guardrail parameters.
    case param = "param"

    /// The billing identity first: organisation, team, user, then the key itself. Fields a
    /// client can choose (`end_user_id`, `param`) are not in the default order.
    public static let defaultOrder = ["org_id", "team_id", "user_id", "key_alias", "key_hash"]
}

/// `POST /beta/litellm_basic_guardrail_api`: LiteLLM's Generic Guardrail API, so a LiteLLM
/// proxy can consult DistillWatch with configuration only (`guardrail:
/// generic_guardrail_api`, `api_base` pointing here, `api_key` a `decide` token, which
/// LiteLLM sends as `x-api-key`).
///
/// LiteLLM sends `{input_type, texts, request_data: {user_api_key_*}, model, ...}`; the
/// answer is `{"action": "BLOCKED", "blocked_reason": ...}` for a `block` verdict and
/// `{"action": "NONE"}` otherwise (throttle and review are for the provider's own rate
/// limiter and analysts, not for refusing a request).
struct LiteLLMGuardrailRoutes {
    let state: ServerState

    func build() -> RouteCollection<DistillWatchRequestContext> {
        let routes = RouteCollection(context: DistillWatchRequestContext.self)
        routes.add(middleware: RequireRole(.decide))
        routes.post("litellm_basic_guardrail_api") { request, context in try await guardrail(request, context: context) }
        return routes
    }

    func guardrail(_ request: Request, context: DistillWatchRequestContext) async throws -> GuardrailResponse {
        let start = ContinuousClock.now
        defer { state.metrics.duration("litellm", since: start) }
        let body = try await request.collectBody(limit: state.configuration.maxRequestBodyBytes, setting: "max_request_body_bytes")
        let ask = try decodeJSON(GuardrailRequest.self, from: body)
        guard let accountID = account(of: ask) else {
            // Nothing names an account: nothing to judge.
            return GuardrailResponse(action: "NONE", blockedReason: nil)
        }
        let live = state.engine.decide(accountID)
        let verdict = live.decision.verdict
        state.metrics.decided(verdict, endpoint: "litellm")
        state.audit.record(DecisionAuditEntry(
            at: state.clock.now(), accountID: accountID, verdict: verdict, score: rounded4(live.decision.score),
            reasons: live.reasons.map(\.kind.rawValue), endpoint: "litellm", caller: context.token?.name,
            requestID: ask.litellmCallID))
        guard verdict == .block else { return GuardrailResponse(action: "NONE", blockedReason: nil) }
        var reason = "DistillWatch: account \(accountID) is blocked"
        if live.label == .confirmedAttack {
            reason += " (confirmed by an analyst)"
        } else {
            let signals = live.reasons.prefix(3).map(\.kind.rawValue).joined(separator: ", ")
            reason += " (score \(rounded4(live.decision.score))\(signals.isEmpty ? "" : ": " + signals))"
        }
        return GuardrailResponse(action: "BLOCKED", blockedReason: reason)
    }

    func account(of ask: GuardrailRequest) -> String? {
        let m = ask.requestData
        for name in state.configuration.litellmAccountFields {
            guard let field = LiteLLMAccountField(rawValue: name) else { continue }
            let value: String?
            switch field {
            case .orgID: value = m?.orgID
            case .teamID: value = m?.teamID
            case .userID: value = m?.userID
            case .keyAlias: value = m?.keyAlias
            case .keyHash: value = m?.keyHash
            case .endUserID: value = m?.endUserID
            case .param: value = ask.additionalProviderSpecificParams?.accountID
            }
            if let value, !value.isEmpty { return value }
        }
        return nil
    }
}

struct GuardrailResponse: Encodable, Sendable, Equatable {
    var action: String
    var blockedReason: String?

    enum CodingKeys: String, CodingKey {
        case action
        case blockedReason = "blocked_reason"
    }
}
