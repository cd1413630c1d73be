import DistillWatchCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import DistillWatchServer

/// LiteLLM end to end, in-process: the guardrail learns, never fails on its input, and its
/// view of a request joins the logging callback's (`/v1/litellm/logs`).
@Suite struct LiteLLMRouteTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gateway/litellm")

    static func fixture(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
    }

    static func call(team: String?, callID: String, prompt: String = "Think step by step: what is 17*23?",
                     endUser: String? = nil, user: String? = nil) -> String {
        var data: [String: Any] = [:]
        if let team { data["user_api_key_team_id"] = team }
        if let endUser { data["user_api_key_end_user_id"] = endUser }
        if let user { data["user_api_key_user_id"] = user }
        let body: [String: Any] = [
            "input_type": "request", "litellm_call_id": callID, "texts": [prompt],
            "structured_messages": [["role": "user", "content": prompt]], "request_data": data,
            "request_headers": ["user-agent": "OpenAI/Python 1.99.0"], "model": "stub-model",
        ]
        return String(decoding: try! JSONSerialization.data(withJSONObject: body), as: UTF8.self)
    }

    static func payload(team: String, callID: String, seconds: Double, outputTokens: Int) -> String {
        #"{"litellm_call_id":"\#(callID)","startTime":\#(seconds),"endTime":\#(seconds + 2),"status":"success","model":"openai/stub-model","model_group":"stub-model","prompt_tokens":12,"completion_tokens":\#(outputTokens),"metadata":{"user_api_key_team_id":"\#(team)"},"model_parameters":{"max_tokens":32000,"temperature":1},"messages":[{"role":"user","content":"hello"}],"response_cost":0.5}"#
    }

    /// A guardrail-only deployment learns: each call is an exchange of its account.
    @Test(arguments: Mode.allCases)
    func theGuardrailLearns(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            for k in 0..<5 {
                let r = try await client.post("/beta/litellm_basic_guardrail_api", nil,
                                              Self.call(team: "team-a", callID: "call-\(k)"),
                                              headers: [HTTPField.Name("x-api-key")!: Secret.decide])
                #expect(r.json["action"] as? String == "NONE")
            }
            try await eventually(client, "5 exchanges of team-a", { ($0["exchanges"] as? Int) == 5 }, path: "/v1/accounts/team-a")
            let metrics = try await client.get("/metrics", Secret.analyst).text
            #expect(metrics.contains(#"distillwatch_litellm_guardrail_calls_total{result="learned"} 5"#))
        }
    }

    /// A call whose account is no usable id (over 1,024 bytes, or holding a NUL) names no account the engine could ever flag: it is counted and audited as
    /// unidentified, as a call that names none, not answered and forgotten.
    @Test func anAccountThatIsNoUsableIdIsUnidentified() async throws {
        try await withServer(.router) { client in
            for (k, team) in [String(repeating: "t", count: 1_100), "team\u{0}x"].enumerated() {
                let r = try await client.post("/beta/litellm_basic_guardrail_api", nil, Self.call(team: team, callID: "odd-\(k)"),
                                              headers: [HTTPField.Name("x-api-key")!: Secret.decide])
                #expect(r.json["action"] as? String == "NONE", "\(r.text)")
            }
            let metrics = try await client.get("/metrics", Secret.analyst).text
            #expect(metrics.contains(#"distillwatch_litellm_guardrail_calls_total{result="unidentified"} 2"#), "\(metrics)")
            let decisions = try await client.get("/v1/decisions", Secret.analyst).text
            #expect(decisions.contains("unidentified: the account is not a usable id: is 1100 bytes long"), "\(decisions)")
            #expect(decisions.contains("holds a NUL character (U+0000 at byte 4)"), "\(decisions)")
            let status = try await client.get("/v1/status", Secret.analyst)
            #expect((status.json["log"] as? [String: Any])?["total"] as? Int == 0)
        }
    }

    /// The guardrail's view and the log's view of one request are one exchange: the log
    /// adds the usage (output tokens) the guardrail could not know.
    @Test(arguments: Mode.allCases)
    func aGuardrailCallAndItsLogAreOneExchange(_ mode: Mode) async throws {
        try await withServer(mode, testConfiguration(toleranceSeconds: 300)) { client in
            let t = Double(testStart.millisecondsSinceEpoch) / 1000
            _ = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide, Self.call(team: "team-b", callID: "joined-1"))
            try await eventually(client, "the guardrail's exchange buffered", { (($0["engine"] as? [String: Any])?["buffered_exchanges"] as? Int) == 1 }, path: "/v1/status")
            let logged = try await client.post("/v1/litellm/logs", Secret.ingest,
                                               "[" + Self.payload(team: "team-b", callID: "joined-1", seconds: t + 0.4, outputTokens: 777) + "]")
            #expect(logged.status == .ok)
            #expect(logged.json["accepted"] as? Int == 1)
            _ = try await client.post("/v1/flush", Secret.analyst, "")
            let account = try await client.get("/v1/accounts/team-b", Secret.analyst)
            #expect(account.json["exchanges"] as? Int == 1)
            #expect(account.json["output_tokens"] as? Int == 777)
            let status = try await client.get("/v1/status", Secret.analyst)
            #expect((status.json["engine"] as? [String: Any])?["merged_exchanges"] as? Int == 1)
            // A redelivered batch is a duplicate, not more traffic.
            _ = try await client.post("/v1/litellm/logs", Secret.ingest,
                                      "[" + Self.payload(team: "team-b", callID: "joined-1", seconds: t + 0.4, outputTokens: 777) + "]")
            _ = try await client.post("/v1/flush", Secret.analyst, "")
            let again = try await client.get("/v1/accounts/team-b", Secret.analyst)
            #expect(again.json["exchanges"] as? Int == 1)
            let after = try await client.get("/v1/status", Secret.analyst)
            #expect((after.json["engine"] as? [String: Any])?["duplicate_exchanges"] as? Int == 1)
        }
    }

    /// Case 02: a 140 KB paste arrives twice in a 314 KB body; it used to get 413, which
    /// LiteLLM turns into a 500 for the user or, with `fail_on_error: false`, serves a
    /// blocked account. It is read, and the blocked account is refused.
    @Test(arguments: Mode.allCases)
    func aLongContextCallIsJudged(_ mode: Mode) async throws {
        let body = try Self.fixture("02-litellm-guardrail-long-context.json")
        #expect(body.utf8.count > 300_000)
        try await withServer(mode) { client in
            let served = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide, body)
            #expect(served.status == .ok)
            #expect(served.json["action"] as? String == "NONE")
            _ = try await client.post("/v1/accounts/team-placeholder-2/label", Secret.analyst, #"{"label":"confirmed_attack"}"#)
            let refused = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide, body)
            #expect(refused.json["action"] as? String == "BLOCKED")
        }
    }

    /// Case 19/22: master-key traffic. Labelling LiteLLM's placeholder `default_user_id`
    /// used to block every end user; placeholders now fall through to the end user.
    @Test(arguments: Mode.allCases)
    func masterKeyPlaceholdersNameNobody(_ mode: Mode) async throws {
        let captured = try Self.fixture("19-litellm-1.106.2-real-guardrail-body-master-key.json")
        try await withServer(mode) { client in
            _ = try await client.post("/v1/accounts/default_user_id/label", Secret.analyst, #"{"label":"confirmed_attack"}"#)
            _ = try await client.post("/v1/accounts/acct-blocked/label", Secret.analyst, #"{"label":"confirmed_attack"}"#)
            let blocked = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide, captured)
            #expect(blocked.json["action"] as? String == "BLOCKED")
            let other = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide,
                                              captured.replacingOccurrences(of: "acct-blocked", with: "acct-someone-else"))
            #expect(other.json["action"] as? String == "NONE")
            #expect((blocked.json["blocked_reason"] as? String)?.contains("acct-blocked") == true)
        }
    }

    /// Case 22: a call that names no account is answered NONE, counted and audited (under
    /// the default `decision_audit: flagged` too); a numeric `account_id` parameter is
    /// an account id, not a 400.
    @Test(arguments: Mode.allCases)
    func unidentifiedCallsAreCountedAndAudited(_ mode: Mode) async throws {
        var c = testConfiguration()
        c.litellmAccountFields = ["param", "team_id"]
        try await withServer(mode, c) { client in
            let bare = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide,
                                             #"{"input_type":"request","litellm_call_id":"c2","texts":["hi"]}"#)
            #expect(bare.status == .ok)
            #expect(bare.json["action"] as? String == "NONE")
            let metrics = try await client.get("/metrics", Secret.analyst).text
            #expect(metrics.contains(#"distillwatch_litellm_guardrail_calls_total{result="unidentified"} 1"#))
            try await eventually(client, "the audit entry", { json in
                let entries = json["decisions"] as? [[String: Any]] ?? []
                return entries.contains { ($0["reasons"] as? [String])?.first?.hasPrefix("unidentified: names no account (param absent") == true
                    && $0["request_id"] as? String == "c2" }
            }, path: "/v1/decisions?limit=10")

            _ = try await client.post("/v1/accounts/4021/label", Secret.analyst, #"{"label":"confirmed_attack"}"#)
            let numeric = try await client.post("/beta/litellm_basic_guardrail_api", Secret.decide,
                #"{"input_type":"request","litellm_call_id":"c1","texts":["hi"],"request_data":{},"additional_provider_specific_params":{"account_id":4021}}"#)
            #expect(numeric.status == .ok)
            #expect(numeric.json["action"] as? String == "BLOCKED")
        }
    }

    /// `/v1/litellm/logs` takes each of LiteLLM's `log_format`s, and lists bad payloads
    /// by line and element while keeping the good ones.
    @Test(arguments: Mode.allCases)
    func theLoggingCallbackIsReadInEveryFormat(_ mode: Mode) async throws {
        let ndjson = try Self.fixture("03-litellm-standard-logging-payload.ndjson")
        let array = try Self.fixture("04-litellm-generic-api-json-array.json")
        let captured = try Self.fixture("21-litellm-1.106.2-real-standard-logging-payload-array.json")
        let single = ndjson.split(separator: "\n")[0]
        try await withServer(mode) { client in
            for (body, expected) in [(ndjson, 3), (array, 3), (captured, 3), (String(single), 1)] {
                let r = try await client.post("/v1/litellm/logs", Secret.ingest, body)
                #expect(r.status == .ok)
                #expect(r.json["accepted"] as? Int == expected)
                #expect(r.json["rejected"] as? Int == 0)
            }
            let account = try await client.get("/v1/accounts/acct-a", Secret.analyst)
            #expect(account.json["exchanges"] as? Int == 2)
            let mixed = try await client.post("/v1/litellm/logs", Secret.ingest,
                "[" + Self.payload(team: "t", callID: "m1", seconds: 1_795_000_000, outputTokens: 1) + #",{"startTime":"soon"}]"#)
            #expect(mixed.status == .ok)
            #expect(mixed.json["accepted"] as? Int == 1)
            let rejected = (mixed.json["rejected_lines"] as? [[String: Any]])?.first
            #expect(rejected?["line"] as? Int == 1)
            #expect(rejected?["element"] as? Int == 1)
            #expect(rejected?["field"] as? String == "startTime")
            let empty = try await client.post("/v1/litellm/logs", Secret.ingest, "")
            #expect(empty.status == .badRequest)
            #expect(empty.errorMessage.contains("StandardLoggingPayload"))
            let emptyArray = try await client.post("/v1/litellm/logs", Secret.ingest, "[]")
            #expect(emptyArray.status == .badRequest)
            #expect(emptyArray.errorMessage.contains("no LiteLLM logging payload"), "\(emptyArray.text)")
            let v1 = try await client.post("/v1/exchanges", Secret.ingest, array)
            #expect(v1.status == .badRequest)
            let hint = (v1.json["rejected_lines"] as? [[String: Any]])?.first?["reason"] as? String ?? ""
            #expect(hint.contains("/v1/litellm/logs"), "\(hint)")
        }
    }
}
