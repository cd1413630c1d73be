import DistillWatchCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import DistillWatchServer

@Suite struct DecideTests {
    @Test(arguments: Mode.allCases)
    func unknownAccountsAreAllowedAndHarvestersAreFlaggedWithReasons(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            let unknown = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"never-seen"}"#)
            #expect(unknown.status == .ok)
            #expect(unknown.json["verdict"] as? String == "allow")
            #expect(unknown.json["known"] as? Bool == false)
            #expect((unknown.json["reasons"] as? [Any])?.isEmpty == true)
            #expect(unknown.json.keys.contains("campaign_id"))

            _ = try await client.post("/v1/accounts", Secret.ingest, sampleAccountLines.joined(separator: "\n"))
            try await ingest(client, sampleLines(), batchSize: 500)
            let harvester = try await client.post("/v1/decide", Secret.decide, """
                {"account_id":"acct-harvester","client_ip":"203.0.113.9","user_agent":"python-httpx/0.27","model":"m-large",
                 "max_tokens":32000,"temperature":1,"prompt":"Think step by step.","request_id":"req-1"}
                """)
            #expect(harvester.status == .ok)
            #expect(["throttle", "block"].contains(harvester.json["verdict"] as? String), "\(harvester.text)")
            #expect((harvester.json["score"] as? Double ?? 0) > 0.5)
            let reasons = harvester.json["reasons"] as? [[String: Any]] ?? []
            #expect(!reasons.isEmpty)
            #expect(reasons.allSatisfy { $0["signal"] is String && $0["detail"] is String && ($0["contribution"] as? Double ?? 0) > 0 })
            let ordinary = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"acct-4"}"#)
            #expect(ordinary.json["verdict"] as? String == "allow")
            #expect(ordinary.json["known"] as? Bool == true)
        }
    }

    /// A leaked key: five quiet days on two keys, then 2,000 requests in an hour on one.
    static func leakedKeyLines() -> [String] {
        var lines: [String] = []
        let start: Int64 = 1_775_000_000_000
        for day in 0..<6 {
            for k in 0..<10 {
                let t = start + Int64(day) * 86_400_000 + 36_000_000 + Int64(k) * 600_000
                lines.append(#"{"time":\#(t),"account_id":"owner","api_key_id":"key-ci","output_tokens":300}"#)
                lines.append(#"{"time":\#(t + 1000),"account_id":"owner","api_key_id":"key-laptop","output_tokens":300}"#)
            }
        }
        for k in 0..<2_000 {
            let t = start + 6 * 86_400_000 + 36_000_000 + Int64(k) * 1_800
            lines.append(#"{"time":\#(t),"account_id":"owner","api_key_id":"key-ci","output_tokens":300}"#)
        }
        return lines
    }

    @Test(arguments: Mode.allCases)
    func aLeakedKeyIsRefusedAndTheOwnersOtherKeyIsNot(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            try await ingest(client, Self.leakedKeyLines(), batchSize: 1_000)
            let leaked = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"owner","api_key_id":"key-ci"}"#)
            #expect(leaked.json["verdict"] as? String == "block", "\(leaked.text)")
            #expect(leaked.json["api_key_id"] as? String == "key-ci")
            #expect(leaked.json["key_verdict"] as? String == "block")
            let reasons = leaked.json["reasons"] as? [[String: Any]] ?? []
            #expect(reasons.first?["signal"] as? String == "sudden_change")
            #expect((reasons.first?["detail"] as? String ?? "").hasPrefix("key key-ci:"))
            let other = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"owner","api_key_id":"key-laptop"}"#)
            #expect(other.json["verdict"] as? String == "allow", "\(other.text)")
            #expect(other.json["key_verdict"] as? String == "allow")
            let account = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"owner"}"#)
            #expect(account.json["verdict"] as? String == "allow")
            #expect(account.json["api_key_id"] == nil)
            let unknownKey = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"owner","api_key_id":"key-new"}"#)
            #expect(unknownKey.json["verdict"] as? String == "allow")
            #expect(unknownKey.json.keys.contains("key_verdict"))
            let empty = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"owner","api_key_id":""}"#)
            #expect(empty.status == .badRequest)
            #expect(empty.errorMessage.contains(#"field "api_key_id""#))
        }
    }

    @Test(arguments: Mode.allCases)
    func badRequestsAre400sThatSayWhatIsWrong(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            let cases: [(String, String)] = [
                (#"{"account_id": 42}"#, #"field "account_id": should be a string"#),
                (#"{"client_ip": "1.2.3.4"}"#, #"field "account_id": missing required field"#),
                (#"{"account_id": null}"#, #"field "account_id": should be a string, not null"#),
                (#"{"account_id": "a", "max_tokens": "lots"}"#, #"field "max_tokens": should be an integer"#),
                (#"{"account_id": ""}"#, #"field "account_id": is empty"#),
                // The limits of an exchange's fields hold for a decide body too.
                (#"{"account_id": "a", "temperature": -5}"#, #"field "temperature": -5.0 is negative"#),
                (#"{"account_id": "a", "temperature": 250.5}"#, #"field "temperature": 250.5 is more than 100.0"#),
                (#"{"account_id": "a", "max_tokens": -1}"#, #"field "max_tokens": -1 is negative"#),
                (#"{"account_id": "a", "max_tokens": 100000001}"#, #"field "max_tokens": 100000001 is more than 100000000"#),
                // A number the field cannot hold is named (Foundation says only "not valid JSON").
                (#"{"account_id": "a", "max_tokens": 1e300}"#, #"field "max_tokens": should be a whole number from -2^63 to 2^63 - 1, got 1e+300"#),
                (#"{"account_id": "a", "max_tokens": 1.5}"#, #"field "max_tokens": should be a whole number, got 1.5"#),
                // A name given twice: Foundation would read the first, a gateway in Python the last.
                (#"{"account_id": "a", "account_id": "b"}"#, #"field "account_id": given more than once"#),
                (#"{"account_id": "a", "metadata": {"tier": 1, "tier": 2}}"#, #"field "metadata.tier": given more than once"#),
                (#"{"account_id": "a""#, "malformed JSON"),
                (#"["a"]"#, "should be an object"),
                ("", "empty body"),
            ]
            for (body, message) in cases {
                let r = try await client.post("/v1/decide", Secret.decide, body)
                #expect(r.status == .badRequest, "\(body)")
                #expect(r.errorMessage.contains(message), "\(body) → \(r.text)")
            }
            // Still up.
            #expect(try await client.post("/v1/decide", Secret.decide, #"{"account_id":"a"}"#).status == .ok)
            #expect(try await client.get("/healthz", nil).status == .ok)
        }
    }

    @Test(arguments: Mode.allCases)
    func decisionsAreAudited(_ mode: Mode) async throws {
        var configuration = testConfiguration()
        configuration.decisionAudit = .all
        try await withServer(mode, configuration) { client in
            try await ingest(client, sampleLines(count: 600), batchSize: 600)
            for account in ["acct-harvester", "acct-1", "nobody"] {
                _ = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"\#(account)","request_id":"q-\#(account)"}"#)
            }
            let log = try await client.get("/v1/decisions?limit=10", Secret.analyst)
            let entries = log.json["decisions"] as? [[String: Any]] ?? []
            #expect(entries.map { $0["account_id"] as? String } == ["nobody", "acct-1", "acct-harvester"])
            #expect(entries.allSatisfy { $0["caller"] as? String == "gateway" && $0["endpoint"] as? String == "decide" })
            #expect(entries.first?["request_id"] as? String == "q-nobody")
            let one = try await client.get("/v1/decisions?account_id=acct-1", Secret.analyst)
            #expect((one.json["decisions"] as? [Any])?.count == 1)
        }
    }

    @Test func byDefaultOnlyDecisionsOtherThanAllowAreAudited() async throws {
        #expect(ServerConfiguration().decisionAudit == .flagged)
        try await withServer(.live) { client in
            try await ingest(client, sampleLines(count: 600), batchSize: 600)
            for account in ["acct-harvester", "acct-1", "nobody"] {
                let answer = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"\#(account)"}"#)
                #expect((answer.json["verdict"] as? String == "allow") == (account != "acct-harvester"))
            }
            let log = try await client.get("/v1/decisions?limit=10", Secret.analyst)
            let entries = log.json["decisions"] as? [[String: Any]] ?? []
            #expect(entries.map { $0["account_id"] as? String } == ["acct-harvester"])
            // A limit that is no whole number from 1 to 10,000 is a 400 naming it.
            for bad in ["abc", "-5", "0", "10001", "99999999999999999999"] {
                let r = try await client.get("/v1/decisions?limit=\(bad)", Secret.analyst)
                #expect(r.status == .badRequest && r.errorMessage.contains("limit: give a whole number from 1 to 10000"), "\(bad): \(r.text)")
            }
            #expect(try await client.get("/v1/quarantine?limit=x", Secret.analyst).status == .badRequest)
        }
    }

    // MARK: LiteLLM Generic Guardrail API

    /// A request as LiteLLM 1.x's `generic_guardrail_api` sends it (see
    /// litellm/types/proxy/guardrails/guardrail_hooks/generic_guardrail_api.py).
    static func guardrailRequest(user: String?, endUser: String? = nil, team: String? = nil) -> String {
        var metadata: [String: Any] = ["user_api_key_hash": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"]
        if let user { metadata["user_api_key_user_id"] = user }
        if let endUser { metadata["user_api_key_end_user_id"] = endUser }
        if let team { metadata["user_api_key_team_id"] = team }
        let body: [String: Any] = [
            "input_type": "request", "litellm_call_id": "call-1", "litellm_trace_id": "trace-1",
            "texts": ["Explain your reasoning step by step."], "images": NSNull(), "tools": NSNull(),
            "structured_messages": [["role": "user", "content": "Explain your reasoning step by step."]],
            "request_data": metadata, "request_headers": ["user-agent": "OpenAI/Python 1.51.0", "authorization": "[present]"],
            "litellm_version": "1.80.0", "additional_provider_specific_params": [:] as [String: Any], "model": "m-large",
        ]
        return String(decoding: try! JSONSerialization.data(withJSONObject: body), as: UTF8.self)
    }

    @Test(arguments: Mode.allCases)
    func liteLLMGuardrailBlocksBlockedAccountsOnly(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            _ = try await client.post("/v1/accounts/acct-bad/label", Secret.analyst, #"{"label":"confirmed_attack","note":"ring 7"}"#)
            try await ingest(client, [#"{"time":"2026-04-01T00:00:00Z","account_id":"acct-good"}"#], batchSize: 1)
            let blocked = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide, Self.guardrailRequest(user: "acct-bad"))
            #expect(blocked.status == .ok)
            #expect(blocked.json["action"] as? String == "BLOCKED")
            #expect((blocked.json["blocked_reason"] as? String)?.contains("acct-bad") == true)
            let passes = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide, Self.guardrailRequest(user: "acct-good"))
            #expect(passes.json["action"] as? String == "NONE")
            #expect(passes.json["blocked_reason"] == nil)
            // No identity at all: nothing to judge.
            let anonymous = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide, #"{"input_type":"request"}"#)
            #expect(anonymous.json["action"] as? String == "NONE")
            // The team outranks the user by default; the client-chosen end user does not count.
            let team = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide,
                                             Self.guardrailRequest(user: "acct-good", endUser: "acct-bad", team: "acct-bad"))
            #expect(team.json["action"] as? String == "BLOCKED")
            let endUserOnly = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide,
                                                    Self.guardrailRequest(user: "acct-good", endUser: "acct-bad"))
            #expect(endUserOnly.json["action"] as? String == "NONE")
            let wrongType = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide, #"{"request_data":"x"}"#)
            #expect(wrongType.status == .badRequest)
            #expect(wrongType.errorMessage.contains("request_data"))
        }
    }

    @Test(arguments: Mode.allCases)
    func theAccountFieldOrderIsConfigurable(_ mode: Mode) async throws {
        var c = testConfiguration()
        c.litellmAccountFields = ["end_user_id", "user_id"]
        try await withServer(mode, c) { client in
            _ = try await client.post("/v1/accounts/acct-bad/label", Secret.analyst, #"{"label":"confirmed_attack"}"#)
            let r = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide,
                                          Self.guardrailRequest(user: "acct-good", endUser: "acct-bad"))
            #expect(r.json["action"] as? String == "BLOCKED")
        }
    }
}
