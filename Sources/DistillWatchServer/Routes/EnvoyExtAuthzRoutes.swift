import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// Envoy's external authorization filter as an HTTP service (`ext_authz` with
/// `http_service`; Envoy API `envoy.extensions.filters.http.ext_authz.v3`): Envoy sends each
/// client request, method and headers unchanged, to `envoy_path_prefix` (default
/// `/distillwatch`) + the client's path, and serves it only if DistillWatch answers 200.
/// `POST /v1/decide/<client path>` is the same check, for a `path_prefix` of `/v1/decide`.
///
/// - Authentication: Envoy adds DistillWatch's `decide` token in its own header
///   (`envoy_key_header`, default `x-api-key`, through `authorization_request.headers_to_add`,
///   which replaces a client header of that name). The client's `Authorization`, which
///   Envoy always forwards, is the client's credential and is never read as DistillWatch's.
/// - The account: ``EnvoyCheckRequest`` (the `envoy_account_header`, else the client's API
///   key's digest).
/// - The answer, with countermeasures on (the default): what the directives make of the
///   request (``enforce(_:live:accountID:headers:state:)``): 403 for `block`,
///   `require_verification` and a prefill under `deny_prefill`, 429 with `retry-after` over
///   `rate_limit`, else 200 with the directives in headers. With countermeasures off: 200
///   for `allow` and `review`, 429 with `retry-after` for `throttle`, 403 for `block`.
///   Each answer carries `x-distillwatch-verdict`, `-score` and `-account` (let
///   through to the upstream with `allowed_upstream_headers`, or to the client with
///   `allowed_client_headers`), and a denial has an OpenAI-style JSON error body. A request
///   naming no account is allowed, counted in
///   `distillwatch_envoy_checks_total{result="unidentified"}` and audited.
/// - Learned: like a LiteLLM guardrail call, the request (without its answer) is appended
///   to the log after the answer is sent, so an ext_authz-only deployment learns.
///
/// The body limit is `max_guardrail_body_bytes` (Envoy's `max_request_bytes` should be at
/// most that, with `allow_partial_message: true`).
struct EnvoyExtAuthzRoutes {
    let state: ServerState

    /// Methods Envoy forwards as they come.
    static let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .head, .options, .trace]

    func build(on router: Router<DistillWatchRequestContext>) {
        let prefix = state.configuration.envoyPathPrefix
        for path in [prefix, prefix + "/**", "/v1/decide/**"] {
            let group = router.group(RouterPath(path)).add(middleware: RequireRole(.decide))
            for method in Self.methods {
                group.on("", method: method) { request, context in try await check(request, context: context) }
            }
        }
    }

    func check(_ request: Request, context: DistillWatchRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        defer { state.metrics.duration("envoy", since: start) }
        let body = try await request.collectBody(limit: state.configuration.maxGuardrailBodyBytes, setting: "max_guardrail_body_bytes")
        var headers: [String: String] = [:]
        var conflicting: String?
        let accountHeader = state.configuration.envoyAccountHeader.lowercased()
        for field in request.headers {
            if let first = headers[field.name.canonicalName] {
                // The account header twice with two values: which names the caller depends on
                // who appended which (a client's own header before the one the proxy sets).
                if field.name.canonicalName == accountHeader, first != field.value { conflicting = field.name.canonicalName }
                continue
            }
            headers[field.name.canonicalName] = field.value
        }
        if let conflicting {
            let now = state.clock.now()
            state.metrics.envoyChecks(.unidentified)
            state.audit.record(DecisionAuditEntry(
                at: now, accountID: "", verdict: .block, score: 0,
                reasons: ["ambiguous: the \(conflicting) header is given twice with different values"],
                endpoint: "envoy", caller: context.token?.name, requestID: nil), always: true)
            let error = EnvoyDenial(error: .init(message: "the \(conflicting) header is given twice with different values: the account is ambiguous",
                                                 type: "distillwatch_ambiguous_account", code: "ambiguous_account"))
            var buffer = ByteBuffer()
            buffer.writeBytes((try? JSONEncoder().encode(error)) ?? Data())
            return Response(status: .forbidden, headers: [Self.verdictHeader: "ambiguous-account", .contentType: "application/json"],
                            body: .init(byteBuffer: buffer))
        }
        let path = request.uri.path
        let prefix = path.hasPrefix("/v1/decide/") ? "/v1/decide" : state.configuration.envoyPathPrefix
        let naming = EnvoyCheckRequest.Naming(accountHeader: state.configuration.envoyAccountHeader,
                                              keyHeader: state.configuration.envoyKeyHeader)
        let keepText = state.configuration.sketcher != nil
        let checked = body.withUnsafeReadableBytes { raw in
            EnvoyCheckRequest(path: path, prefix: prefix, headers: headers, body: raw.bindMemory(to: UInt8.self),
                              naming: naming, keepText: keepText, keyDigest: ClientKeyDigest.name)
        }
        let now = state.clock.now()
        // An id the engine cannot learn (over 1,024 bytes, a NUL) names no
        // account it could ever flag: counted and audited as unidentified, not served quietly.
        let unusable = checked.accountID.flatMap { RecordLimits.problem(identifier: $0, field: naming.accountHeader) }
        guard let accountID = checked.accountID, unusable == nil else {
            state.metrics.envoyChecks(.unidentified)
            state.audit.record(DecisionAuditEntry(
                at: now, accountID: "", verdict: .allow, score: 0,
                reasons: [unusable.map { "unidentified: the account is not a usable id: \($0.reason)" }
                          ?? "unidentified: no \(naming.accountHeader) header and no client API key in authorization"],
                endpoint: "envoy", caller: context.token?.name, requestID: checked.requestID), always: true)
            return Response(status: .ok, headers: [Self.verdictHeader: "unidentified"])
        }
        if let shards = state.shards {
            switch try await shards.route(accountID, request: request, body: body, endpoint: "envoy") {
            case .local: break
            case .forwarded(let answer): return answer
            case .ownerUnavailable(let reason):
                state.metrics.decided(.allow, endpoint: "envoy")
                state.audit.record(DecisionAuditEntry(
                    at: now, accountID: accountID, verdict: .allow, score: 0, reasons: [reason], endpoint: "envoy",
                    caller: context.token?.name, requestID: checked.requestID), always: true)
                return Response(status: .ok, headers: [Self.verdictHeader: "owner-unavailable", Self.accountHeader: accountID])
            }
        }
        state.metrics.envoyChecks(.identified)
        // Per key: the digest of the client's API key, when the account came from a header.
        let live = state.engine.decide(accountID, key: checked.apiKeyID == accountID ? nil : checked.apiKeyID)
        let verdict = live.decision.verdict
        state.metrics.decided(verdict, endpoint: "envoy")
        let score = rounded4(live.decision.score)
        let judgement = state.countermeasures.judge(
            live, accountID: accountID,
            request: GatewayRequestFacts(prefill: checked.prefill, maxTokens: checked.maxTokens,
                                         thinking: checked.reasoningEffort.map { $0 != "none" && $0 != "minimal" },
                                         model: checked.model),
            endpoint: "envoy", at: now)
        state.audit.record(DecisionAuditEntry(
            at: now, accountID: accountID, verdict: verdict, score: score, reasons: live.reasons.map(\.kind.rawValue),
            endpoint: "envoy", caller: context.token?.name, requestID: checked.requestID,
            directives: judgement.auditTokens), always: judgement.refusal != nil)
        learn(checked, at: now)

        var answer: HTTPFields = [
            Self.verdictHeader: verdict.rawValue, Self.scoreHeader: "\(score)", Self.accountHeader: accountID,
        ]
        if let campaign = live.decision.campaign.map({ "campaign-\($0)" }) ?? live.campaign?.campaignID {
            answer[Self.campaignHeader] = campaign
        }
        if state.countermeasures.enabled || judgement.refusal != nil {
            return Self.enforce(judgement, live: live, accountID: accountID, headers: answer, state: state)
        }
        switch verdict {
        case .allow, .review:
            return Response(status: .ok, headers: answer)
        case .throttle, .block:
            let reason = live.refusal(of: accountID)
            answer[.contentType] = "application/json"
            if verdict == .throttle { answer[.retryAfter] = "60" }
            let error = EnvoyDenial(error: .init(message: reason, type: verdict == .block ? "distillwatch_blocked" : "distillwatch_throttled",
                                                 code: verdict.rawValue))
            var buffer = ByteBuffer()
            buffer.writeBytes((try? JSONEncoder().encode(error)) ?? Data())
            return Response(status: verdict == .block ? .forbidden : .tooManyRequests, headers: answer,
                            body: .init(byteBuffer: buffer))
        }
    }

    /// The answer under countermeasures: a refusal's status (403, or 429 with
    /// `retry-after` for a rate limit) with an OpenAI-style error body, or 200 carrying the
    /// directives for the upstream: `x-distillwatch-directives` (every directive, as
    /// `withhold_reasoning, cap_max_tokens=4096`), and one header per directive the upstream
    /// applies to the request or answer: `x-distillwatch-max-tokens`,
    /// `x-distillwatch-reasoning` (`withhold` or `summarize`), `x-distillwatch-thinking:
    /// disabled`. Envoy's ext_authz cannot rewrite the request body, so the upstream (the
    /// provider's model server) applies those; Envoy passes them with
    /// `allowed_upstream_headers`.
    static func enforce(_ judgement: RequestJudgement, live: LiveDecision, accountID: String, headers: HTTPFields,
                        state: ServerState) -> Response {
        var answer = headers
        let measures = judgement.measures
        if !measures.isEmpty { answer[directivesHeader] = measures.headerValue }
        if let refusal = judgement.refusal {
            let message = state.countermeasures.message(judgement, accountID: accountID, live: live) ?? ""
            answer[.contentType] = "application/json"
            if case .rateLimited(let ms) = refusal { answer[.retryAfter] = "\(CountermeasureService.retryAfterSeconds(ms))" }
            let error = EnvoyDenial(error: .init(message: message, type: Self.errorType(refusal), code: refusal.code))
            var buffer = ByteBuffer()
            buffer.writeBytes((try? JSONEncoder().encode(error)) ?? Data())
            return Response(status: HTTPResponse.Status(code: refusal.status), headers: answer, body: .init(byteBuffer: buffer))
        }
        if let cap = measures.maxTokens { answer[maxTokensHeader] = "\(cap)" }
        switch measures.reasoning {
        case .withhold: answer[reasoningHeader] = "withhold"
        case .summarize: answer[reasoningHeader] = "summarize"
        case .serve: break
        }
        if measures.contains(.disableThinking) { answer[thinkingHeader] = "disabled" }
        return Response(status: .ok, headers: answer)
    }

    /// The error body's `type`: `distillwatch_blocked`, `distillwatch_verification_required`,
    /// `distillwatch_prefill_denied` or `distillwatch_rate_limited`.
    static func errorType(_ refusal: GatewayRefusal) -> String {
        switch refusal {
        case .blocked: return "distillwatch_blocked"
        case .verificationRequired: return "distillwatch_verification_required"
        case .prefillDenied: return "distillwatch_prefill_denied"
        case .rateLimited: return "distillwatch_rate_limited"
        case .modelNotAvailable: return "distillwatch_model_not_available"
        }
    }

    /// Appends the request to the log and applies it without holding up the answer.
    private func learn(_ checked: EnvoyCheckRequest, at time: Timestamp) {
        guard let exchange = checked.exchange(at: time, sketcher: state.configuration.sketcher)?.withoutText else {
            state.logger.warning("Envoy check not learned: its account is not a usable identifier (empty or over 1024 bytes)",
                                 metadata: ["request_id": "\(checked.requestID ?? "none")"])
            return
        }
        state.metrics.envoyChecks(.learned)
        let requestID = checked.requestID
        state.ingestor.learnInBackground(exchange, at: time, logger: state.logger,
                                         what: "Envoy check \(requestID ?? "without x-request-id")")
    }

    static let verdictHeader = HTTPField.Name("x-distillwatch-verdict")!
    static let scoreHeader = HTTPField.Name("x-distillwatch-score")!
    static let accountHeader = HTTPField.Name("x-distillwatch-account")!
    static let campaignHeader = HTTPField.Name("x-distillwatch-campaign")!
    static let directivesHeader = HTTPField.Name("x-distillwatch-directives")!
    static let maxTokensHeader = HTTPField.Name("x-distillwatch-max-tokens")!
    static let reasoningHeader = HTTPField.Name("x-distillwatch-reasoning")!
    static let thinkingHeader = HTTPField.Name("x-distillwatch-thinking")!
}

/// The body of a denial, in the shape OpenAI-compatible clients parse.
struct EnvoyDenial: Encodable {
    struct Detail: Encodable {
        var message: String
        var type: String
        var code: String
    }

    var error: Detail
}
