import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Foundation
import Hummingbird
import NIOCore

/// `POST /v1/reasoning` (decide role): a gateway applying a reasoning directive gets the
/// text to serve instead of the reasoning and reports the reasoning tokens it did not
/// serve (counted per campaign in `distillwatch_reasoning_withheld_tokens_total`).
///
/// Body: `{"account_id", "request_id"?, "treatment": "summarize"|"withhold", "reasoning"?,
/// "reasoning_tokens"?}`. Answer: `{"treatment", "text", "source": "summarizer"|"notice"|
/// "withheld", "model"?}`. The reasoning is never stored or logged. The body limit is
/// `max_guardrail_body_bytes`.
struct ReasoningRoutes {
    let state: ServerState

    func build() -> RouteCollection<DistillWatchRequestContext> {
        let routes = RouteCollection(context: DistillWatchRequestContext.self)
        routes.add(middleware: RequireRole(.decide))
        routes.post("reasoning") { request, _ in try await reasoning(request) }
        return routes
    }

    func reasoning(_ request: Request) async throws -> JSONBody<ReasoningAnswer> {
        let body = try await request.collectBody(limit: state.configuration.maxGuardrailBodyBytes, setting: "max_guardrail_body_bytes")
        let ask = try decodeJSON(ReasoningRequest.self, from: body)
        guard !ask.accountID.isEmpty, ask.accountID.utf8.count <= RecordLimits.maximumIdentifierBytes else {
            throw HTTPError(.badRequest, message: "field \"account_id\": must be 1 to \(RecordLimits.maximumIdentifierBytes) bytes")
        }
        guard let treatment = ReasoningTreatment(rawValue: ask.treatment), treatment != .serve else {
            throw HTTPError(.badRequest, message: "field \"treatment\": must be \"summarize\" or \"withhold\", got \"\(ask.treatment)\"")
        }
        // The limit an exchange's reasoning_tokens has (RecordLimits): the count goes into a
        // metric's running total, which a count near 2^63 would wrap.
        if let problem = RecordLimits.problem(count: ask.reasoningTokens, field: "reasoning_tokens", maximum: RecordLimits.maximumTokens) {
            throw HTTPError(.badRequest, message: problem.description)
        }
        let reasoning = ask.reasoning ?? ""
        if treatment == .summarize, reasoning.isEmpty {
            throw HTTPError(.badRequest, message: "field \"reasoning\": give the reasoning to summarise")
        }
        let live = state.engine.decide(ask.accountID)
        let text = await state.countermeasures.reasoning(ask.accountID, treatment: treatment, reasoning: reasoning,
                                                         logger: state.logger)
        let tokens = ask.reasoningTokens ?? (reasoning.utf8.count + 3) / 4
        state.countermeasures.metrics.withheld(tokens: tokens, campaign: live.campaign?.campaignID, treatment: treatment)
        return JSONBody(ReasoningAnswer(treatment: treatment, text: text.text, source: text.source, model: text.model))
    }
}

struct ReasoningAnswer: Encodable, Sendable {
    var treatment: ReasoningTreatment
    var text: String
    var source: ReasoningText.Source
    var model: String?
}

/// `POST /v1/accounts/{id}/verify` (analyst or exempt role): records that the account
/// passed identity verification (`{"verified": true, "method": "id_document", "note":
/// "..."}`, all optional), or with `"verified": false` that it no longer does. It is an
/// account record with `verified` in the event log (so a restart keeps it), which lifts
/// `require_verification`; the caller's name, the method and the note go to the analyst
/// notes. The account need not have sent traffic: a sign-up verified before its first
/// request starts verified.
struct VerificationRoutes {
    let state: ServerState

    func build() -> RouteCollection<DistillWatchRequestContext> {
        let routes = RouteCollection(context: DistillWatchRequestContext.self)
        routes.add(middleware: RequireRole(.analyst, .exempt))
        routes.post("accounts/:id/verify") { request, context -> ShardedAnswer<JSONBody<VerifyResult>> in
            let id = try context.identifier("id")
            let body = try await request.collectBody(limit: state.configuration.maxRequestBodyBytes, setting: "max_request_body_bytes")
            if let owners = try await state.ownersAnswer(for: id, request, body: body) { return .forwarded(owners) }
            return .local(try await verify(id, body, context: context))
        }
        return routes
    }

    func verify(_ id: String, _ body: ByteBuffer, context: DistillWatchRequestContext) async throws -> JSONBody<VerifyResult> {
        let ask = body.readableBytes == 0 ? VerifyRequest(verified: nil, method: nil, note: nil) : try decodeJSON(VerifyRequest.self, from: body)
        let verified = ask.verified ?? true
        if let m = ask.method, m.isEmpty || m.utf8.count > 100 {
            throw HTTPError(.badRequest, message: "field \"method\": give 1 to 100 bytes (id_document, organisation, ...)")
        }
        if let n = ask.note, n.utf8.count > AnalystRoutes.maximumNoteBytes {
            throw HTTPError(.badRequest, message: "field \"note\": at most \(AnalystRoutes.maximumNoteBytes) bytes, got \(n.utf8.count)")
        }
        var record = AccountRecord(accountID: id, verified: verified)
        if let problem = record.problem { throw HTTPError(.badRequest, message: "account \"\(id)\": \(problem)") }
        record.verified = verified
        var batch = IngestRoutes.Batch()
        batch.accept(NewEvent(kind: .account, subject: id, payload: EventDecoder.storedForm(of: record)), .account(record))
        let result = try await IngestRoutes.commit(batch, noun: "account", state: state)
        let analyst = context.token?.name
        let what = verified ? "identity verified" : "identity verification withdrawn"
        let note = [what + (ask.method.map { " (\($0))" } ?? ""), ask.note].compactMap { $0 }.joined(separator: ": ")
        do {
            try await state.history.addNote(AnalystNote(subjectKind: "account", subject: id, note: note, analyst: analyst,
                                                        at: state.clock.now()))
        } catch {
            state.logger.warning("verification recorded, its note not stored: \(error)")
        }
        state.logger.notice("\(analyst ?? "a caller") marked account \(ConsoleRoutes.logSafe(id)) \(verified ? "verified" : "not verified")")
        let live = state.engine.decide(id)
        return JSONBody(VerifyResult(accountID: id, verified: verified, sequence: result.lastSequence,
                                     directives: state.countermeasures.countermeasures(for: live).entries))
    }
}

struct VerifyResult: Encodable, Sendable {
    var accountID: String
    var verified: Bool
    var sequence: Int64?
    /// The account's directives now.
    var directives: [DirectiveEntry]

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case verified, sequence, directives
    }
}
