import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Hummingbird

/// `POST /beta/litellm_basic_guardrail_api`: LiteLLM's Generic Guardrail API, so a LiteLLM
/// proxy consults DistillWatch with configuration only (`guardrail:
/// generic_guardrail_api`, `api_base` pointing here, `api_key` a `decide` token, which
/// LiteLLM sends as `x-api-key`).
///
/// Each call is judged and learned from:
/// - **Judged**: the account is the first real identity of ``LiteLLMIdentity`` (placeholders
///   such as `default_user_id` fall through). The answer is `{"action": "BLOCKED",
///   "blocked_reason": ...}` for a verdict at or above ``ServerConfiguration/litellmRefuseAt``
///   (`block` by default) and `{"action": "NONE"}` otherwise. A call that
///   names no account is answered `NONE`, counted in
///   `distillwatch_litellm_guardrail_calls_total{result="unidentified"}` and audited
///   (under `decision_audit: flagged` too).
/// - **Learned**: a `request` call is an exchange (account, time, model, message and tool
///   counts, prefill, user agent, prompt sketch) appended to the log after the answer is
///   sent, so a guardrail-only deployment learns. Its `request_id` is LiteLLM's
///   `litellm_call_id`, which the logging payload repeats: the engine merges the two
///   views of one request while it waits in the reorder buffer (see ``ReorderBuffer``).
///
/// The body limit is ``ServerConfiguration/maxGuardrailBodyBytes`` (64 MiB): LiteLLM sends
/// the prompt twice, and a refused body becomes an error for the user or, under
/// `fail_on_error: false`, a bypass. The body is scanned once; only the identity, the last
/// user message and a few counts are materialised.
struct LiteLLMGuardrailRoutes {
    let state: ServerState

    func build() -> RouteCollection<DistillWatchRequestContext> {
        let routes = RouteCollection(context: DistillWatchRequestContext.self)
        routes.add(middleware: RequireRole(.decide))
        routes.post("litellm_basic_guardrail_api") { request, context in try await guardrail(request, context: context) }
        return routes
    }

    func guardrail(_ request: Request, context: DistillWatchRequestContext) async throws -> ShardedAnswer<GuardrailResponse> {
        let start = ContinuousClock.now
        defer { state.metrics.duration("litellm", since: start) }
        let body = try await request.collectBody(limit: state.configuration.maxGuardrailBodyBytes, setting: "max_guardrail_body_bytes")
        let decoder = GuardrailCallDecoder(keepsText: state.configuration.sketcher != nil,
                                           keepsResponseTexts: state.countermeasures.enabled)
        let call: LiteLLMGuardrailCall
        do {
            call = try body.withUnsafeReadableBytes { raw throws(RecordError) in try decoder.decode(raw.bindMemory(to: UInt8.self)) }
        } catch {
            throw HTTPError(.badRequest, message: "not a LiteLLM guardrail call: \(error)")
        }
        let identity = state.configuration.litellmIdentity
        let now = state.clock.now()
        // An id the engine cannot learn (over 1,024 bytes, a NUL) names no
        // account it could ever flag: counted and audited as unidentified, not served quietly.
        let named = identity.account(call.identity)
        let unusable = named.flatMap { RecordLimits.problem(identifier: $0.0, field: "account_id") }
        guard let (accountID, _) = named, unusable == nil else {
            state.metrics.guardrailUnidentified.increment()
            state.audit.record(DecisionAuditEntry(
                at: now, accountID: "", verdict: .allow, score: 0,
                reasons: [unusable.map { "unidentified: the account is not a usable id: \($0.reason)" }
                          ?? "unidentified: " + identity.whyNoAccount(call.identity)], endpoint: "litellm",
                caller: context.token?.name, requestID: call.callID), always: true)
            return .local(GuardrailResponse(action: "NONE", blockedReason: nil))
        }
        if let shards = state.shards {
            switch try await shards.route(accountID, request: request, body: body, endpoint: "litellm") {
            case .local: break
            case .forwarded(let answer): return .forwarded(answer)
            case .ownerUnavailable(let reason):
                state.metrics.decided(.allow, endpoint: "litellm")
                state.audit.record(DecisionAuditEntry(
                    at: now, accountID: accountID, verdict: .allow, score: 0, reasons: [reason], endpoint: "litellm",
                    caller: context.token?.name, requestID: call.callID), always: true)
                return .local(GuardrailResponse(action: "NONE", blockedReason: nil))
            }
        }
        state.metrics.guardrailIdentified.increment()
        // Per key: LiteLLM's hash of the virtual key the request used.
        let key = call.identity.keyHash.flatMap { identity.isIdentity($0) ? $0 : nil }
        let live = state.engine.decide(accountID, key: key)
        let verdict = live.decision.verdict
        state.metrics.decided(verdict, endpoint: "litellm")
        let isResponse = call.inputType == "response"
        // A response call's request was judged (and counted against its rate) before it.
        var judgement = state.countermeasures.judge(
            live, accountID: accountID, request: GatewayRequestFacts(prefill: isResponse ? nil : call.prefill, model: call.model),
            endpoint: "litellm", at: now, count: !isResponse)
        if isResponse, let r = judgement.refusal, r != .blocked { judgement.refusal = nil }
        state.audit.record(DecisionAuditEntry(
            at: now, accountID: accountID, verdict: verdict, score: rounded4(live.decision.score),
            reasons: live.reasons.map(\.kind.rawValue), endpoint: "litellm", caller: context.token?.name,
            requestID: call.callID, directives: judgement.auditTokens), always: judgement.refusal != nil)
        learn(call, accountID: accountID, identity: identity, at: now)
        if let message = state.countermeasures.message(judgement, accountID: accountID, live: live) {
            return .local(GuardrailResponse(action: "BLOCKED", blockedReason: message))
        }
        if verdict >= state.configuration.litellmRefuseAt {
            return .local(GuardrailResponse(action: "BLOCKED", blockedReason: live.refusal(of: accountID)))
        }
        if isResponse, judgement.measures.reasoning != .serve, let texts = call.responseTexts {
            return .local(await replaceReasoning(texts, treatment: judgement.measures.reasoning, accountID: accountID, live: live))
        }
        return .local(GuardrailResponse(action: "NONE", blockedReason: nil))
    }

    /// `post_call` under `withhold_reasoning` or `summarize_reasoning`: the reasoning that
    /// the answer's texts carry inline (``ReasoningRedaction``) is removed, or replaced by
    /// `<think>` + the summary or notice + `</think>`, and the texts come back with
    /// `GUARDRAIL_INTERVENED`. Texts without reasoning are returned as they came; with none
    /// at all, the answer is `NONE`. The tokens not served are estimated at 4 bytes each
    /// (this API carries no usage) and counted per campaign.
    private func replaceReasoning(_ texts: [String], treatment: ReasoningTreatment, accountID: String,
                                  live: LiveDecision) async -> GuardrailResponse {
        var out = texts
        var removedBytes = 0
        var changed = false
        for (i, text) in texts.enumerated() {
            guard let found = ReasoningRedaction.redact(text, replacement: { _ in "" }) else { continue }
            removedBytes += found.reasoning.utf8.count
            changed = true
            guard treatment == .summarize else {
                out[i] = found.text
                continue
            }
            // The summary of all the text's reasoning takes the place of its first block.
            let summary = await state.countermeasures.reasoning(accountID, treatment: treatment, reasoning: found.reasoning,
                                                                logger: state.logger)
            var first = true
            out[i] = ReasoningRedaction.redact(text) { _ in
                defer { first = false }
                return first ? "<think>" + summary.text + "</think>" : ""
            }?.text ?? found.text
        }
        guard changed else { return GuardrailResponse(action: "NONE", blockedReason: nil) }
        state.countermeasures.metrics.withheld(tokens: (removedBytes + 3) / 4, campaign: live.campaign?.campaignID,
                                               treatment: treatment)
        return GuardrailResponse(action: "GUARDRAIL_INTERVENED", blockedReason: nil, texts: out)
    }

    /// Appends the request the call stands for to the log and applies it, without holding
    /// up the answer (the verdict was taken before it, as for any decide call). A failed
    /// append is logged; the call was answered either way.
    private func learn(_ call: LiteLLMGuardrailCall, accountID: String, identity: LiteLLMIdentity, at time: Timestamp) {
        guard let exchange = call.exchange(accountID: accountID, at: time, sketcher: state.configuration.sketcher,
                                           identity: identity)?.withoutText else {
            if call.inputType != "response" {
                state.logger.warning("LiteLLM guardrail call not learned: its account is not a usable identifier (over 1024 bytes)",
                                     metadata: ["litellm_call_id": "\(call.callID ?? "none")"])
            }
            return
        }
        state.metrics.guardrailLearned.increment()
        let callID = call.callID
        state.ingestor.learnInBackground(exchange, at: time, logger: state.logger,
                                         what: "LiteLLM guardrail call \(callID ?? "without id")")
    }
}

/// `POST /v1/litellm/logs`: LiteLLM's `generic_api` logging callback (ingest role), in any
/// `log_format`: `json_array` (its default), `ndjson` or `single`. Each
/// `StandardLoggingPayload` becomes an exchange (``StandardLoggingPayloadDecoder``);
/// good payloads are accepted and durable before the answer, bad ones are listed by line
/// and array element, as `/v1/exchanges` lists lines. The limit is
/// `max_ingest_body_bytes`.
struct LiteLLMLogRoutes {
    let state: ServerState

    func build() -> RouteCollection<DistillWatchRequestContext> {
        let routes = RouteCollection(context: DistillWatchRequestContext.self)
        routes.add(middleware: RequireRole(.ingest))
        routes.post("logs") { request, _ in try await logs(request) }
        return routes
    }

    func logs(_ request: Request) async throws -> JSONBody<IngestResult> {
        let start = ContinuousClock.now
        defer { state.metrics.duration("litellm_logs", since: start) }
        let body = try await request.collectBody(limit: state.configuration.maxIngestBodyBytes, setting: "max_ingest_body_bytes")
        let decoder = StandardLoggingPayloadDecoder(
            identity: state.configuration.litellmIdentity, captureText: state.configuration.captureText || state.configuration.provenanceIndex,
            sketcher: state.configuration.sketcher)
        let provenanceKey = state.provenanceKey
        // Decoded on the ingest lane, not the threads that answer decide (``BackgroundLane``).
        let batch = await BackgroundLane.ingest.run {
            var batch = IngestRoutes.Batch(provenanceKey: provenanceKey)
            body.withUnsafeReadableBytes { raw in
                LiteLLMLogBatch.forEachPayload(in: raw.bindMemory(to: UInt8.self), decoder: decoder) { position, result in
                    switch result {
                    case .success(let exchange):
                        batch.accept(exchange)
                    case .failure(let error):
                        batch.reject(RejectedLine(line: position.line, element: position.index, field: error.field, reason: error.reason))
                    }
                    BackgroundLane.yieldIfDue()
                }
            }
            return batch
        }
        if batch.events.isEmpty, batch.rejectedCount == 0,
           body.readableBytesView.contains(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) {
            throw HTTPError(.badRequest, message: "the body holds no LiteLLM logging payload (an empty JSON array?)")
        }
        let result = try await IngestRoutes.commit(
            batch, noun: "LiteLLM logging payload", state: state,
            expected: "a JSON array of StandardLoggingPayload objects, or one per line", request: request)
        state.metrics.exchangesAccepted.increment(by: result.accepted)
        state.metrics.exchangesRejected.increment(by: result.rejected)
        state.metrics.exchangesRejectedSinceStart.add(result.rejected, ordering: .relaxed)
        return JSONBody(result, status: result.accepted == 0 && result.rejected > 0 ? .badRequest : .ok)
    }
}

struct GuardrailResponse: Encodable, Sendable, Equatable {
    var action: String
    var blockedReason: String?
    /// The texts to use instead of those sent, with `GUARDRAIL_INTERVENED`.
    var texts: [String]? = nil

    enum CodingKeys: String, CodingKey {
        case action
        case blockedReason = "blocked_reason"
        case texts
    }
}
