import DistillWatchCore
import DistillWatchStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import DistillWatchServer

/// Countermeasures where the traffic flows (Documentation/Countermeasures.md): `/v1/decide`
/// returns the directives and refuses what they refuse (rate limit, prefill, verification,
/// block); Envoy's check turns them into status codes and headers; LiteLLM's generic
/// guardrail refuses and, in `post_call`, removes or replaces inline reasoning; the verify
/// flow lifts `require_verification` and survives a restart; every answer is audited.
@Suite struct CountermeasureRouteTests {
    static let guardrail = "/beta/litellm_basic_guardrail_api"
    static let apiKey = HTTPField.Name("x-api-key")!

    /// A policy whose one rule applies to every known account, so each test controls exactly
    /// which directives are in force (the default rules are tested in the core).
    static func configuration(_ directives: [Directive], summarizer: ServerConfiguration.ReasoningSummarizerSettings? = nil)
        -> ServerConfiguration {
        var c = testConfiguration()
        c.policy.countermeasures = CountermeasurePolicy(rules: [
            CountermeasureRule(name: "every account", verdict: .allow, directives: directives),
            CountermeasureRule(name: "block", verdict: .block, directives: [.block]),
        ])
        c.verificationURL = "https://example.com/verify"
        c.reasoningSummarizer = summarizer
        return c
    }

    static func exchange(_ account: String) -> String {
        #"{"time":"2026-06-01T10:00:00Z","account_id":"\#(account)","model":"m","output_tokens":10}"#
    }

    static func decide(_ client: some TestClientProtocol, _ body: String) async throws -> [String: Any] {
        let r = try await client.post("/v1/decide", Secret.decide, body)
        #expect(r.status == .ok, "\(r.text)")
        return r.json
    }

    static func directiveNames(_ json: [String: Any]) -> [String] {
        (json["directives"] as? [[String: Any]] ?? []).compactMap { $0["directive"] as? String }
    }

    @Test(arguments: Mode.allCases)
    func decideReturnsDirectivesAndEnforcesTheRate(_ mode: Mode) async throws {
        let c = Self.configuration([.withholdReasoning, .capMaxTokens(100), .rateLimit(requestsPerMinute: 2), .denyPrefill])
        try await withServer(mode, c) { client in
            // An account never seen gets nothing.
            let unknown = try await Self.decide(client, #"{"account_id":"acct-new"}"#)
            #expect(Self.directiveNames(unknown).isEmpty && unknown["refusal"] is NSNull)

            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.exchange("acct-a")).status == .ok)
            let first = try await Self.decide(client, #"{"account_id":"acct-a","request_id":"r1"}"#)
            #expect(Self.directiveNames(first) == ["withhold_reasoning", "cap_max_tokens", "deny_prefill", "rate_limit"])
            let entries = try #require(first["directives"] as? [[String: Any]])
            #expect(entries[1]["max_tokens"] as? Int == 100 && entries[3]["requests_per_minute"] as? Int == 2)
            #expect(entries[0]["rule"] as? String == "every account")
            #expect(first["refusal"] is NSNull)

            // A dry run looks without counting; the second request is admitted, the third not.
            _ = try await Self.decide(client, #"{"account_id":"acct-a","dry_run":true}"#)
            let second = try await Self.decide(client, #"{"account_id":"acct-a"}"#)
            #expect(second["refusal"] is NSNull)
            let third = try await Self.decide(client, #"{"account_id":"acct-a","request_id":"r3"}"#)
            let refusal = try #require(third["refusal"] as? [String: Any])
            #expect(refusal["status"] as? Int == 429 && refusal["code"] as? String == "rate_limit_exceeded")
            #expect(refusal["directive"] as? String == "rate_limit" && refusal["retry_after_s"] as? Int == 30)
            #expect((refusal["message"] as? String)?.contains("limited to 2 requests a minute") == true)

            // A prefilled request is refused before the rate is looked at.
            let prefill = try await Self.decide(client, #"{"account_id":"acct-a","prefill":true}"#)
            #expect((prefill["refusal"] as? [String: Any])?["code"] as? String == "prefill_not_allowed")

            let negative = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-a","max_tokens":-1}"#)
            #expect(negative.status == .badRequest && negative.errorMessage.contains("max_tokens"))

            let metrics = try await client.get("/metrics", Secret.analyst).text
            #expect(metrics.contains(#"distillwatch_refusals_total{directive="rate_limit",endpoint="decide"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"distillwatch_refusals_total{directive="deny_prefill",endpoint="decide"} 1"#))
            #expect(metrics.contains(#"distillwatch_directives_total{directive="cap_max_tokens",endpoint="decide"} 5"#))
        }
    }

    /// Every decision is audited with the directives it carried and the refusal.
    @Test func theAuditLogKeepsTheDirectives() async throws {
        var c = Self.configuration([.rateLimit(requestsPerMinute: 1)])
        c.decisionAudit = .all
        let dir = ScratchDirectory()
        let store = try SQLiteEventStore(path: dir.path + "/state.sqlite")
        try await withServer(.router, c, store: store) { client in
            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.exchange("acct-b")).status == .ok)
            _ = try await Self.decide(client, #"{"account_id":"acct-b","request_id":"first"}"#)
            _ = try await Self.decide(client, #"{"account_id":"acct-b","request_id":"second"}"#)
            // The audit log writes every 50 ms.
            for _ in 0..<200 where try await store.decisions(accountID: "acct-b", limit: 10).count < 2 {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        // After the server stopped, the closed store refuses instead of crashing.
        await #expect(throws: StoreError.self) { try await store.decisions(accountID: "acct-b", limit: 10) }
        let reopened = try SQLiteEventStore(path: dir.path + "/state.sqlite")
        let entries = try await reopened.decisions(accountID: "acct-b", limit: 10)
        #expect(entries.map(\.requestID) == ["second", "first"])
        #expect(entries.map(\.directives) == [["rate_limit=1/min", "refused:rate_limit"], ["rate_limit=1/min"]])
    }

    /// `require_verification` refuses with the verification address until the account is
    /// verified through the API; the verification is an account record in the log, so a
    /// restarted server still knows it. Only analyst or exempt tokens may verify.
    @Test func verificationLiftsTheVerificationDirectiveAndSurvivesARestart() async throws {
        var c = Self.configuration([.requireVerification, .summarizeReasoning])
        let dir = ScratchDirectory()
        c.database = dir.path + "/state.sqlite"
        try await withServer(.router, c) { client in
            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.exchange("acct-v")).status == .ok)
            let before = try await Self.decide(client, #"{"account_id":"acct-v"}"#)
            let refusal = try #require(before["refusal"] as? [String: Any])
            #expect(refusal["code"] as? String == "verification_required" && refusal["status"] as? Int == 403)
            #expect((refusal["message"] as? String)?.contains("https://example.com/verify") == true)

            #expect(try await client.post("/v1/accounts/acct-v/verify", Secret.decide, "{}").status == .forbidden)
            #expect(try await client.post("/v1/accounts/acct-v/verify", Secret.ingest, "{}").status == .forbidden)
            let bad = try await client.post("/v1/accounts/acct-v/verify", Secret.analyst, #"{"method":""}"#)
            #expect(bad.status == .badRequest && bad.errorMessage.contains("method"))
            let verified = try await client.post("/v1/accounts/acct-v/verify", Secret.analyst,
                                                 #"{"method":"id_document","note":"passport checked"}"#)
            #expect(verified.status == .ok, "\(verified.text)")
            #expect(verified.json["verified"] as? Bool == true)
            #expect(Self.directiveNames(verified.json) == ["summarize_reasoning"])
            let after = try await Self.decide(client, #"{"account_id":"acct-v"}"#)
            #expect(after["refusal"] is NSNull && Self.directiveNames(after) == ["summarize_reasoning"])
            // An account verified before its first request (the exempt role, as an identity service holds).
            #expect(try await client.post("/v1/accounts/acct-signup/verify", Secret.exempt, "").status == .ok)
        }
        try await withServer(.router, c) { client in
            let after = try await Self.decide(client, #"{"account_id":"acct-v"}"#)
            #expect(after["refusal"] is NSNull, "the verification was replayed from the log")
            // A withdrawal with a misspelt or null field verified the account (the default true).
            for typo in [#"{"verifed":false}"#, #"{"verified":null}"#, #"{"is_verified":false,"note":"x"}"#] {
                let refused = try await client.post("/v1/accounts/acct-v/verify", Secret.analyst, typo)
                #expect(refused.status == .badRequest, "\(typo): \(refused.text)")
                #expect(refused.errorMessage.contains("field \"") && refused.errorMessage.contains("verified"), "\(refused.text)")
            }
            // A number past a double's range beside the typo: Foundation's decoder skips it,
            // the member list cannot hold it; the body is refused, not let through unchecked.
            let padded = try await client.post("/v1/accounts/acct-v/verify", Secret.analyst, #"{"verifed":false,"pad":1e400}"#)
            #expect(padded.status == .badRequest, "\(padded.text)")
            let withdrawn = try await client.post("/v1/accounts/acct-v/verify", Secret.analyst, #"{"verified":false}"#)
            #expect(withdrawn.json["verified"] as? Bool == false, "\(withdrawn.text)")
            let again = try await Self.decide(client, #"{"account_id":"acct-v"}"#)
            #expect((again["refusal"] as? [String: Any])?["code"] as? String == "verification_required")
        }
        let notes = try await SQLiteEventStore(path: c.database).historyStore.notes(subjectKind: "account", subject: "acct-v", limit: 10)
        #expect(Set(notes.map(\.note)) == ["identity verified (id_document): passport checked", "identity verification withdrawn"])
        #expect(notes.allSatisfy { $0.analyst == "alice" })
    }

    /// Envoy: refusals become status codes with an OpenAI-style body; what the upstream
    /// applies travels in headers.
    @Test func envoyCarriesDirectivesAsHeadersAndStatusCodes() async throws {
        let c = Self.configuration([.summarizeReasoning, .disableThinking, .capMaxTokens(512), .denyPrefill,
                                    .rateLimit(requestsPerMinute: 2)])
        try await withServer(.router, c) { client in
            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.exchange("acct-e")).status == .ok)
            let headers: HTTPFields = [EnvoyExtAuthzTests.key: Secret.decide, EnvoyExtAuthzTests.account: "acct-e"]
            let ok = try await EnvoyExtAuthzTests.check(client, "/distillwatch/v1/chat/completions", headers)
            #expect(ok.status == .ok)
            #expect(ok.headers[EnvoyExtAuthzRoutes.directivesHeader]
                    == "summarize_reasoning, disable_thinking, cap_max_tokens=512, deny_prefill, rate_limit=2/min")
            #expect(ok.headers[EnvoyExtAuthzRoutes.maxTokensHeader] == "512")
            #expect(ok.headers[EnvoyExtAuthzRoutes.reasoningHeader] == "summarize")
            #expect(ok.headers[EnvoyExtAuthzRoutes.thinkingHeader] == "disabled")

            let prefilled = #"{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":"Sure, the"}]}"#
            let denied = try await EnvoyExtAuthzTests.check(client, "/distillwatch/v1/chat/completions", headers, body: prefilled)
            #expect(denied.status == .forbidden)
            #expect(denied.json["error"].flatMap { ($0 as? [String: Any])?["code"] as? String } == "prefill_not_allowed")

            _ = try await EnvoyExtAuthzTests.check(client, "/distillwatch/v1/chat/completions", headers)
            let limited = try await EnvoyExtAuthzTests.check(client, "/distillwatch/v1/chat/completions", headers)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] == "30")
            #expect(limited.json["error"].flatMap { ($0 as? [String: Any])?["type"] as? String } == "distillwatch_rate_limited")
        }
    }

    /// With countermeasures off, Envoy answers on the verdict alone, as before.
    @Test func withCountermeasuresOffEnvoyActsOnTheVerdict() async throws {
        var c = Self.configuration([.requireVerification])
        c.policy.countermeasures.enabled = false
        try await withServer(.router, c) { client in
            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.exchange("acct-off")).status == .ok)
            let headers: HTTPFields = [EnvoyExtAuthzTests.key: Secret.decide, EnvoyExtAuthzTests.account: "acct-off"]
            let ok = try await EnvoyExtAuthzTests.check(client, "/distillwatch/v1/chat/completions", headers)
            #expect(ok.status == .ok && ok.headers[EnvoyExtAuthzRoutes.directivesHeader] == nil)
            let decide = try await Self.decide(client, #"{"account_id":"acct-off"}"#)
            #expect(Self.directiveNames(decide).isEmpty)
        }
    }

    static func guardrailCall(_ account: String, input: String, texts: [String], messages: [[String: String]]? = nil) -> String {
        var body: [String: Any] = [
            "input_type": input, "litellm_call_id": "call-\(account)-\(input)", "texts": texts,
            "request_data": ["user_api_key_team_id": account], "model": "m",
        ]
        if let messages { body["structured_messages"] = messages }
        return String(decoding: try! JSONSerialization.data(withJSONObject: body), as: UTF8.self)
    }

    /// LiteLLM's generic guardrail: a prefilled request is BLOCKED in pre_call; in post_call
    /// the answer's inline reasoning is removed (withhold) and the withheld tokens counted.
    @Test func theGenericGuardrailRefusesPrefillAndRemovesInlineReasoning() async throws {
        let c = Self.configuration([.withholdReasoning, .denyPrefill])
        try await withServer(.router, c) { client in
            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.exchange("team-r")).status == .ok)
            let prefill = try await client.post(Self.guardrail, nil, Self.guardrailCall(
                "team-r", input: "request", texts: ["q"],
                messages: [["role": "user", "content": "q"], ["role": "assistant", "content": "Sure, step 1:"]]),
                headers: [Self.apiKey: Secret.decide])
            #expect(prefill.json["action"] as? String == "BLOCKED")
            #expect((prefill.json["blocked_reason"] as? String)?.contains("may not prefill") == true)

            let plain = try await client.post(Self.guardrail, nil, Self.guardrailCall(
                "team-r", input: "request", texts: ["q"], messages: [["role": "user", "content": "q"]]),
                headers: [Self.apiKey: Secret.decide])
            #expect(plain.json["action"] as? String == "NONE")

            let reasoning = String(repeating: "Let me think. ", count: 40)
            let answer = try await client.post(Self.guardrail, nil, Self.guardrailCall(
                "team-r", input: "response", texts: ["<think>\(reasoning)</think>The answer is 391.", "no reasoning here"]),
                headers: [Self.apiKey: Secret.decide])
            #expect(answer.json["action"] as? String == "GUARDRAIL_INTERVENED", "\(answer.text)")
            #expect(answer.json["texts"] as? [String] == ["The answer is 391.", "no reasoning here"])

            let none = try await client.post(Self.guardrail, nil, Self.guardrailCall("team-r", input: "response", texts: ["plain"]),
                                             headers: [Self.apiKey: Secret.decide])
            #expect(none.json["action"] as? String == "NONE" && none.json["texts"] == nil)

            let metrics = try await client.get("/metrics", Secret.analyst).text
            let tokens = (reasoning.trimmingCharacters(in: .whitespaces).utf8.count + 3) / 4
            #expect(metrics.contains(#"distillwatch_reasoning_withheld_tokens_total{campaign="none",treatment="withhold"} \#(tokens)"#),
                    "\(metrics)")
            #expect(metrics.contains(#"distillwatch_refusals_total{directive="deny_prefill",endpoint="litellm"} 1"#))
        }
    }

    /// `summarize_reasoning` without a summariser serves a notice that says so; with one
    /// that cannot be reached, a notice that says the summary could not be made: never an
    /// invented summary. `/v1/reasoning` serves the same to custom gateways.
    @Test(arguments: [false, true])
    func summariesComeFromTheSummariserOrANoticeThatSaysSo(_ unreachable: Bool) async throws {
        let summarizer = unreachable
            ? ServerConfiguration.ReasoningSummarizerSettings(url: "http://127.0.0.1:9/v1", model: "summariser", timeoutMilliseconds: 500)
            : nil
        let c = Self.configuration([.summarizeReasoning], summarizer: summarizer)
        let notice = unreachable ? ReasoningText.failedSummaryNotice : ReasoningText.noSummariserNotice
        try await withServer(.router, c) { client in
            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.exchange("team-s")).status == .ok)
            let answer = try await client.post(Self.guardrail, nil, Self.guardrailCall(
                "team-s", input: "response", texts: ["Intro <think>a</think> middle <think>b</think> end"]),
                headers: [Self.apiKey: Secret.decide])
            #expect(answer.json["texts"] as? [String] == ["Intro <think>\(notice)</think> middle  end"], "\(answer.text)")

            let api = try await client.post("/v1/reasoning", Secret.decide,
                                             #"{"account_id":"team-s","treatment":"summarize","reasoning":"step 1, step 2"}"#)
            #expect(api.json["text"] as? String == notice && api.json["source"] as? String == "notice")
            let withheld = try await client.post("/v1/reasoning", Secret.decide,
                                                  #"{"account_id":"team-s","treatment":"withhold","request_id":null,"reasoning_tokens":1200}"#)
            // The LiteLLM guardrail sends "request_id": null when the call has none: a gateway's
            // body stays open (analysts' bodies refuse a null).
            #expect(withheld.json["text"] as? String == "" && withheld.json["source"] as? String == "withheld", "\(withheld.text)")
            let missing = try await client.post("/v1/reasoning", Secret.decide, #"{"account_id":"team-s","treatment":"summarize"}"#)
            #expect(missing.status == .badRequest && missing.errorMessage.contains("reasoning"))
            let wrong = try await client.post("/v1/reasoning", Secret.decide, #"{"account_id":"team-s","treatment":"serve"}"#)
            #expect(wrong.status == .badRequest && wrong.errorMessage.contains("treatment"))
            // Held to an exchange's limit: twice 2^63 − 1 once wrapped the metric's total negative.
            let huge = try await client.post("/v1/reasoning", Secret.decide,
                                             #"{"account_id":"team-s","treatment":"withhold","reasoning_tokens":9223372036854775807}"#)
            #expect(huge.status == .badRequest && huge.errorMessage.contains("is more than 100000000"), "\(huge.text)")

            let metrics = try await client.get("/metrics", Secret.analyst).text
            #expect(metrics.contains(#"distillwatch_reasoning_withheld_tokens_total{campaign="none",treatment="withhold"} 1200"#))
            #expect(metrics.contains(#"distillwatch_reasoning_summaries_total{source="\#(unreachable ? "failed" : "notice")"} 2"#),
                    "\(metrics)")
        }
    }

    /// Under the built-in rules a risky sign-up must verify before its first request: the
    /// account record alone (disposable mail) makes `/v1/decide` and Envoy refuse it.
    @Test(arguments: Mode.allCases)
    func aRiskySignupMustVerifyBeforeItsFirstRequest(_ mode: Mode) async throws {
        var c = testConfiguration()
        c.verificationURL = "https://example.com/verify"
        try await withServer(mode, c) { client in
            let records = #"{"account_id":"acct-new","created":"2026-06-01T10:00:00Z","tier":"free","email_domain":"yopmail.com"}"# + "\n"
                + #"{"account_id":"acct-fine","created":"2026-06-01T10:00:00Z","tier":"free","email_domain":"example.org"}"#
            #expect(try await client.post("/v1/accounts", Secret.ingest, records).status == .ok)
            let risky = try await Self.decide(client, #"{"account_id":"acct-new"}"#)
            #expect(risky["verdict"] as? String == "allow" && risky["signup_risk"] as? Double == 0.6)
            let refusal = try #require(risky["refusal"] as? [String: Any])
            #expect(refusal["code"] as? String == "verification_required")
            #expect((refusal["message"] as? String)?.contains("sign-up risk 0.6") == true)
            let fine = try await Self.decide(client, #"{"account_id":"acct-fine"}"#)
            #expect(fine["refusal"] is NSNull && fine["signup_risk"] as? Double == 0)
            let envoy = try await EnvoyExtAuthzTests.check(client, "/distillwatch/v1/chat/completions",
                                                           [EnvoyExtAuthzTests.key: Secret.decide, EnvoyExtAuthzTests.account: "acct-new"])
            #expect(envoy.status == .forbidden)
            #expect(try await client.post("/v1/accounts/acct-new/verify", Secret.exempt, #"{"method":"id_document"}"#).status == .ok)
            let after = try await Self.decide(client, #"{"account_id":"acct-new"}"#)
            #expect(after["refusal"] is NSNull && Self.directiveNames(after).isEmpty)
            let report = try await client.get("/v1/report?all=true", Secret.analyst).text
            #expect(report.contains(#""throwaway_domain""#), "the report gives the sign-up factors")
        }
    }

    /// The model access policy refuses a restricted model on the account's tier, declared or
    /// payment country or the request's address country, through every gateway, with
    /// countermeasures on or off.
    @Test(arguments: [true, false])
    func aRestrictedModelIsRefusedWhereItIsNotAvailable(_ countermeasuresOn: Bool) async throws {
        var c = testConfiguration()
        c.policy.modelAccess = ModelAccessPolicy(rules: [ModelAccessRule(model: "frontier-*", allowedCountries: ["US", "GB"])])
        c.policy.countermeasures.enabled = countermeasuresOn
        try await withServer(.router, c) { client in
            let records = #"{"account_id":"acct-us","declared_country":"US"}"# + "\n" + #"{"account_id":"acct-cn","declared_country":"CN"}"#
            #expect(try await client.post("/v1/accounts", Secret.ingest, records).status == .ok)
            let ok = try await Self.decide(client, #"{"account_id":"acct-us","model":"frontier-large","country":"GB"}"#)
            #expect(ok["refusal"] is NSNull)
            let away = try await Self.decide(client, #"{"account_id":"acct-us","model":"frontier-large","country":"IR"}"#)
            let refusal = try #require(away["refusal"] as? [String: Any])
            #expect(refusal["code"] as? String == "model_not_available" && refusal["directive"] as? String == "model_access")
            #expect(refusal["message"] as? String == "DistillWatch: model frontier-large is not available to requests from IR (account acct-us)")
            let declared = try await Self.decide(client, #"{"account_id":"acct-cn","model":"frontier-mini"}"#)
            #expect((declared["refusal"] as? [String: Any])?["message"] as? String
                    == "DistillWatch: model frontier-large is not available to accounts whose declared country is CN (account acct-cn)"
                        .replacingOccurrences(of: "frontier-large", with: "frontier-mini"))
            #expect(try await Self.decide(client, #"{"account_id":"acct-cn","model":"open-model"}"#)["refusal"] is NSNull)

            let envoy = try await EnvoyExtAuthzTests.check(client, "/distillwatch/v1/chat/completions",
                                                           [EnvoyExtAuthzTests.key: Secret.decide, EnvoyExtAuthzTests.account: "acct-cn"],
                                                           body: #"{"model":"frontier-large","messages":[{"role":"user","content":"q"}]}"#)
            #expect(envoy.status == .forbidden)
            #expect(envoy.json["error"].flatMap { ($0 as? [String: Any])?["type"] as? String } == "distillwatch_model_not_available")
            var call = try JSONSerialization.jsonObject(with: Data(Self.guardrailCall("acct-cn", input: "request", texts: ["q"]).utf8)) as! [String: Any]
            call["model"] = "frontier-large"
            call["request_data"] = ["user_api_key_org_id": "acct-cn"]
            let litellm = try await client.post(Self.guardrail, nil, String(decoding: try JSONSerialization.data(withJSONObject: call), as: UTF8.self),
                                                headers: [Self.apiKey: Secret.decide])
            #expect(litellm.json["action"] as? String == "BLOCKED")
            #expect((litellm.json["blocked_reason"] as? String)?.contains("declared country is CN") == true)
            let metrics = try await client.get("/metrics", Secret.analyst).text
            #expect(metrics.contains(#"distillwatch_refusals_total{directive="model_access",endpoint="decide"} 2"#), "\(metrics)")
        }
    }

    /// A confirmed attack is blocked under the default rules, through every gateway.
    @Test func aConfirmedAttackIsBlockedByTheDefaultRules() async throws {
        try await withServer(.router) { client in
            #expect(try await client.post("/v1/exchanges", Secret.ingest, Self.exchange("team-x")).status == .ok)
            #expect(try await client.post("/v1/accounts/team-x/label", Secret.analyst, #"{"label":"confirmed_attack"}"#).status == .ok)
            let decide = try await Self.decide(client, #"{"account_id":"team-x"}"#)
            #expect(Self.directiveNames(decide) == ["block"])
            #expect((decide["refusal"] as? [String: Any])?["code"] as? String == "distillwatch_blocked")
            let call = try await client.post(Self.guardrail, nil, Self.guardrailCall("team-x", input: "request", texts: ["q"]),
                                             headers: [Self.apiKey: Secret.decide])
            #expect(call.json["action"] as? String == "BLOCKED")
            #expect((call.json["blocked_reason"] as? String)?.contains("confirmed by an analyst") == true)
        }
    }
}
