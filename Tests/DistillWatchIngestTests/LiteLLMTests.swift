import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchIngest

/// The LiteLLM fixtures (Tests/Fixtures/gateway/litellm): payloads in the documented
/// shapes of LiteLLM's Generic Guardrail API and `StandardLoggingPayload`, two captured
/// from a real LiteLLM 1.106.2 proxy (19, 21).
enum LiteLLMFixture {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gateway/litellm")

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: folder.appendingPathComponent(name)))
    }

    /// Every payload of a body, decoded as `POST /v1/litellm/logs` reads it.
    static func payloads(_ bytes: [UInt8], decoder: StandardLoggingPayloadDecoder = StandardLoggingPayloadDecoder())
        -> [(LiteLLMLogBatch.Position, Result<Exchange, RecordError>)] {
        var out: [(LiteLLMLogBatch.Position, Result<Exchange, RecordError>)] = []
        bytes.withUnsafeBufferPointer { b in
            LiteLLMLogBatch.forEachPayload(in: b, decoder: decoder) { out.append(($0, $1)) }
        }
        return out
    }

    static func exchanges(_ name: String, decoder: StandardLoggingPayloadDecoder = StandardLoggingPayloadDecoder()) throws -> [Exchange] {
        try payloads(try bytes(name), decoder: decoder).map { try $0.1.get() }
    }
}

@Suite struct StandardLoggingPayloadTests {
    static let t0 = Timestamp(rfc3339: "2026-11-18T11:06:40.123Z")!

    /// Cases 03 (`ndjson`), 04 (`json_array`, the default batch) and 05 (a pipeline that
    /// added v1's `time` and `account_id`): each line used to be rejected ("status" is a
    /// string, no "time", no "account_id"). The account is the team (no organisation),
    /// the time `startTime` (float epoch seconds), the counts the payload's.
    @Test(arguments: ["03-litellm-standard-logging-payload.ndjson", "04-litellm-generic-api-json-array.json",
                      "05-litellm-slp-plus-time-account.ndjson"])
    func everyLogFormatGivesTheSameExchanges(_ name: String) throws {
        let exchanges = try LiteLLMFixture.exchanges(name)
        #expect(exchanges.count == 3)
        for (k, e) in exchanges.enumerated() {
            #expect(e.accountID == "team-placeholder-9")
            #expect(e.time == Self.t0.adding(milliseconds: Int64(k) * 20_000))
            #expect(e.inputTokens == 120)
            #expect(e.outputTokens == 4000)
            #expect(e.maxTokens == 64000)
            #expect(e.temperature == 1)
            #expect(e.thinking == true)
            #expect(e.stream == false)
            #expect(e.status == 200)
            #expect(e.model == "claude-sonnet")          // model_group: the name the client asked for
            #expect(e.operation == "chat")
            #expect(e.apiKeyID == "a1b2c3placeholderkeyhash")
            #expect(e.clientIP == "203.0.113.7")
            #expect(e.finishReason == "length")
            #expect(e.costUSD == 0.0021)
            #expect(e.messageCount == 1)
            #expect(e.prefill == false)
            #expect(e.endUserID == nil)                  // "" is no end user
            #expect(e.latencyMilliseconds.map { abs($0 - 41_200) < 0.01 } == true)
            #expect(e.prompt == "", "text is not kept by default; its presence is")
            #expect(e.requestID == "chatcmpl-0000000\(k)-placeholder")
        }
    }

    /// `endTime − startTime` in the unit the start's magnitude gives it, as the time is read:
    /// LiteLLM writes seconds; a pipeline writing milliseconds or finer lost the latency.
    @Test(arguments: [("1795000000.25", "1795000002.25"), ("1795000000250", "1795000002250"),
                      ("1795000000250000", "1795000002250000"), ("1795000000250000000", "1795000002250000000")])
    func latencyIsReadInTheUnitOfTheTime(_ times: (String, String)) throws {
        let line = #"{"startTime":\#(times.0),"endTime":\#(times.1),"metadata":{"user_api_key_team_id":"team-1"}}"#
        let e = try #require(try LiteLLMFixture.payloads(Array(line.utf8)).first?.1.get())
        #expect(e.time == Timestamp(millisecondsSinceEpoch: 1_795_000_000_250))
        #expect(e.latencyMilliseconds == 2000, "\(times)")
        // An end in another unit than the start, or before it, gives no latency.
        let mixed = #"{"startTime":\#(times.0),"endTime":1795000002,"metadata":{"user_api_key_team_id":"team-1"}}"#
        let m = try #require(try LiteLLMFixture.payloads(Array(mixed.utf8)).first?.1.get())
        #expect(times.0.contains(".") ? m.latencyMilliseconds.map { abs($0 - 1750) < 1e-6 } == true : m.latencyMilliseconds == nil, "\(times)")
    }

    /// Case 21, captured from LiteLLM 1.106.2 with the master key: every payload says
    /// `user_api_key_user_id: "default_user_id"` and `user_api_key_hash:
    /// "litellm_proxy_master_key"`, placeholders that must not become one shared account.
    @Test func masterKeyPlaceholdersFallThroughToTheEndUser() throws {
        let exchanges = try LiteLLMFixture.exchanges("21-litellm-1.106.2-real-standard-logging-payload-array.json")
        #expect(exchanges.map(\.accountID) == ["acct-a", "acct-b", "acct-a"])
        #expect(exchanges.map(\.requestID) == ["c358ebe0-e20a-498b-ae42-4aaeca2d06a0", "2c4a9cfc-743a-418f-b0c5-3590fda89166",
                                              "bb15af8f-f0fe-4fdd-92e5-54c984e5b235"])
        let first = exchanges[0]
        #expect(first.time == Timestamp(rfc3339: "2026-11-29T08:49:57.020Z"))
        #expect(first.apiKeyID == nil, "the master key's placeholder is no key id")
        #expect(first.endUserID == "acct-a")
        #expect(first.inputTokens == 5 && first.outputTokens == 2)
        #expect(first.maxTokens == 1024 && first.temperature == 0.2 && first.stream == false)
        #expect(first.userAgent == "curl/7.88.1")
        #expect(first.model == "stub-model")
        #expect(first.status == 200)
        // With only the placeholders in the configured order, nothing names the account.
        let strict = StandardLoggingPayloadDecoder(identity: LiteLLMIdentity(order: [.userID, .keyHash]))
        let refused = LiteLLMFixture.payloads(try LiteLLMFixture.bytes("21-litellm-1.106.2-real-standard-logging-payload-array.json"),
                                              decoder: strict)
        #expect(refused.count == 3)
        for (position, result) in refused {
            guard case .failure(let error) = result else { Issue.record("accepted \(position)"); continue }
            #expect(error.field == "metadata")
            #expect(error.reason.contains("placeholder \"default_user_id\""))
        }
        #expect(refused.map(\.0.index) == [0, 1, 2])
    }

    @Test func textIsSketchedThenDropped() throws {
        let sketcher = ContentSketcher(key: ContentKey(k0: 1, k1: 2))
        let decoder = StandardLoggingPayloadDecoder(sketcher: sketcher)
        let e = try LiteLLMFixture.exchanges("03-litellm-standard-logging-payload.ndjson", decoder: decoder)[0]
        #expect(e.content != nil)
        #expect(e.content!.cues.contains(.chainOfThought), "the prompt asks to think step by step")
        #expect(e.prompt == "" && e.response == nil)
        let capturing = StandardLoggingPayloadDecoder(captureText: true)
        let text = try LiteLLMFixture.exchanges("03-litellm-standard-logging-payload.ndjson", decoder: capturing)[0]
        #expect(text.prompt?.hasPrefix("Solve problem #0 and think step by step") == true)
        #expect(text.response != nil)
    }

    /// A failure log: `status: "failure"` with LiteLLM's error code as the HTTP status.
    @Test func failuresCarryTheirStatus() throws {
        func decode(_ json: String) throws(RecordError) -> Exchange {
            try Array(json.utf8).withUnsafeBufferPointer { b throws(RecordError) in try StandardLoggingPayloadDecoder().decode(b) }
        }
        let limited = try decode(#"{"startTime":1795000000.5,"status":"failure","error_information":{"error_code":"429"},"metadata":{"user_api_key_team_id":"t"}}"#)
        #expect(limited.status == 429)
        let other = try decode(#"{"startTime":1795000000.5,"status":"failure","error_information":{"error_code":"ContextWindowExceeded"},"metadata":{"user_api_key_team_id":"t"}}"#)
        #expect(other.status == 500)
        let numeric = try decode(#"{"startTime":1795000000,"status":"success","metadata":{"user_api_key_team_id":4021},"call_type":"aembedding"}"#)
        #expect(numeric.accountID == "4021")
        #expect(numeric.operation == "embeddings")
        #expect(numeric.time == Timestamp(millisecondsSinceEpoch: 1_795_000_000_000))
        let streaming = try decode(#"{"startTime":1795000000,"stream":true,"metadata":{"user_api_key_team_id":"t"},"model_parameters":{"stream":null,"tools":[{},{}],"reasoning_effort":"high","max_completion_tokens":900},"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"x"}}]},{"role":"assistant","content":"Sure, "}]}"#)
        #expect(streaming.stream == true)
        #expect(streaming.toolCount == 2)
        #expect(streaming.reasoningEffort == "high")
        #expect(streaming.maxTokens == 900)
        #expect(streaming.messageCount == 2)
        #expect(streaming.prefill == true)
    }

    /// Bad payloads are reported one by one, with the field, line and element; the good
    /// ones of the same batch are kept.
    @Test func badPayloadsAreReportedWhereTheyAre() {
        let body = """
            [{"startTime":1795000000,"metadata":{"user_api_key_team_id":"t"}},{"startTime":"yesterday","metadata":{"user_api_key_team_id":"t"}},{"startTime":17,"metadata":{"user_api_key_team_id":"t"}}]
            {"startTime":1795000001,"prompt_tokens":-5,"metadata":{"user_api_key_team_id":"t"}}
            {"startTime":1795000002,"metadata":{"user_api_key_team_id":"t"}, oops}
            {"startTime":1795000003,"metadata":{"user_api_key_team_id":"t"}}
            42
            """
        let results = LiteLLMFixture.payloads(Array(body.utf8))
        let summary = results.map { position, result -> String in
            switch result {
            case .success: return "\(position): ok"
            case .failure(let e): return "\(position): \(e.field ?? "-")"
            }
        }
        #expect(summary == ["line 1, element 0: ok", "line 1, element 1: startTime", "line 1, element 2: startTime",
                            "line 2: prompt_tokens", "line 3: -", "line 4: ok", "line 5: -"])
        if case .failure(let e) = results[2].1 { #expect(e.reason.contains("between 2000 and 2100")) }
        if case .failure(let e) = results[3].1 { #expect(e.reason.contains("negative")) }
    }

    /// An array cut off inside an element is one bad payload, not two (the element and the
    /// array); the payloads before it are kept, and the next line is read.
    @Test func aTruncatedArrayIsOneRejection() {
        let body = """
            [{"startTime":1795000000,"metadata":{"user_api_key_team_id":"t"}},{"startTime":1795000001,"metadata":{"user_api_key_te
            {"startTime":1795000002,"metadata":{"user_api_key_team_id":"t"}}
            """
        let results = LiteLLMFixture.payloads(Array(body.utf8))
        #expect(results.map { "\($0.0)" } == ["line 1, element 0", "line 1, element 1", "line 2"])
        #expect(results.map { (try? $0.1.get()) != nil } == [true, false, true])
    }

    @Test func invalidUTF8IsRefusedWithItsOffset() {
        var bytes = Array(#"{"startTime":1795000000,"metadata":{"user_api_key_team_id":"t"#.utf8)
        bytes.append(0xC3)
        bytes.append(contentsOf: Array(#""}}"#.utf8))
        let results = LiteLLMFixture.payloads(bytes)
        #expect(results.count == 1)
        if case .failure(let e) = results[0].1 { #expect(e.reason.contains("invalid UTF-8 at byte")) } else { Issue.record("accepted") }
    }

    @Test func theIdentityOrderIsParsedStrictly() throws {
        #expect(try LiteLLMIdentity.parseOrder(["end_user_id", " team_id", "end_user_id"]) == [.endUserID, .teamID])
        #expect(throws: LiteLLMIdentityError.self) { try LiteLLMIdentity.parseOrder(["email"]) }
        #expect(throws: LiteLLMIdentityError.self) { try LiteLLMIdentity.parseOrder([]) }
        let identity = LiteLLMIdentity(extraPlaceholders: ["sha-of-master"])
        #expect(identity.account(.init(keyHash: "sha-of-master", endUserID: "u1"))?.id == "u1")
        #expect(identity.account(.init(teamID: "", userID: "default_user_id")) == nil)
    }
}

@Suite struct GuardrailCallDecoderTests {
    static func decode(_ bytes: [UInt8], keepsText: Bool = true) throws -> LiteLLMGuardrailCall {
        try bytes.withUnsafeBufferPointer { b throws(RecordError) in try GuardrailCallDecoder(keepsText: keepsText).decode(b) }
    }

    /// Case 01: a full call (images, a built-in tool, headers). It used to be answered and
    /// forgotten; now it is an exchange of the team's account.
    @Test func aFullCallIsAnExchangeOfItsAccount() throws {
        let call = try Self.decode(try LiteLLMFixture.bytes("01-litellm-guardrail-full-body.json"))
        let identity = LiteLLMIdentity()
        #expect(identity.account(call.identity)?.id == "team-placeholder-1")
        #expect(call.callID == "c0a8e5b2-1111-4f4e-9a2b-000000000001")
        #expect(call.model == "gpt-4o")
        #expect(call.toolCount == 2)
        #expect(call.messageCount == 2)
        #expect(call.userAgent == "OpenAI/Python 1.99.0")
        #expect(call.prompt == "Think step by step and show your full reasoning: what is 17*23?")
        #expect(call.system == "You are a helpful assistant")
        let t = Timestamp(rfc3339: "2026-11-29T12:00:00Z")!
        let e = call.exchange(accountID: "team-placeholder-1", at: t, sketcher: ContentSketcher(key: ContentKey(k0: 1, k1: 2)))
        #expect(e?.time == t)
        #expect(e?.requestID == call.callID)
        #expect(e?.apiKeyID == "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b")
        #expect(e?.content?.capability == .agenticToolUse)
        #expect(e?.prefill == false)
        // A configured placeholder is no key id here either, as in logging payloads.
        let shared = LiteLLMIdentity(extraPlaceholders: ["88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"])
        #expect(call.exchange(accountID: "team-placeholder-1", at: t, sketcher: nil, identity: shared)?.apiKeyID == nil)
    }

    /// Case 02: a 140 KB paste arrives twice (314 KB); only the last user message is kept.
    @Test func aLongContextCallIsRead() throws {
        let call = try Self.decode(try LiteLLMFixture.bytes("02-litellm-guardrail-long-context.json"), keepsText: false)
        #expect(LiteLLMIdentity().account(call.identity)?.id == "team-placeholder-2")
        #expect(call.prompt == nil)
        #expect(call.messageCount == 2)
    }

    /// Case 19, captured from LiteLLM 1.106.2 with the master key.
    @Test func masterKeyCallsNameTheEndUser() throws {
        let call = try Self.decode(try LiteLLMFixture.bytes("19-litellm-1.106.2-real-guardrail-body-master-key.json"))
        #expect(LiteLLMIdentity().account(call.identity)?.id == "acct-blocked")
        #expect(LiteLLMIdentity().account(call.identity)?.field == .endUserID)
        #expect(call.userAgent == "curl/7.88.1")
    }

    /// Case 22: a numeric `account_id` parameter (YAML `account_id: 4021`) and a body
    /// without `request_data`.
    @Test func numericParametersAndMissingRequestData() throws {
        let numeric = try Self.decode(Array(#"{"input_type":"request","litellm_call_id":"c1","texts":["hi"],"request_data":{},"additional_provider_specific_params":{"account_id":4021}}"#.utf8))
        #expect(LiteLLMIdentity(order: [.param, .teamID]).account(numeric.identity)?.id == "4021")
        let bare = try Self.decode(Array(#"{"input_type":"request","litellm_call_id":"c2","texts":["hi"]}"#.utf8))
        #expect(LiteLLMIdentity().account(bare.identity) == nil)
        #expect(LiteLLMIdentity().whyNoAccount(bare.identity).contains("team_id absent"))
        #expect(throws: RecordError.self) { try Self.decode(Array(#"{"request_data":"x"}"#.utf8)) }
        #expect(throws: RecordError.self) { try Self.decode(Array("not json".utf8)) }
        let response = try Self.decode(Array(#"{"input_type":"response","request_data":{"user_api_key_team_id":"t"}}"#.utf8))
        #expect(response.exchange(accountID: "t", at: Timestamp(rfc3339: "2026-11-29T12:00:00Z")!, sketcher: nil) == nil,
                "a response call is the same request again")
    }
}

@Suite struct LiteLLMStoredFormTests {
    /// What the server logs of a payload must decode to the exchange the live engine saw,
    /// or a replay would diverge (found by fuzz-litellm-logs).
    @Test(arguments: ["03-litellm-standard-logging-payload.ndjson", "21-litellm-1.106.2-real-standard-logging-payload-array.json"])
    func theStoredFormOfAPayloadDecodesToTheSameExchange(_ name: String) throws {
        let sketcher = ContentSketcher(key: ContentKey(k0: 1, k1: 2))
        for e in try LiteLLMFixture.exchanges(name, decoder: StandardLoggingPayloadDecoder(sketcher: sketcher)) {
            var out: [UInt8] = []
            JSONLineEncoder.appendWithoutText(e, to: &out)
            let back = try out.withUnsafeBufferPointer { b throws(RecordError) in
                try ExchangeLineDecoder(sketcher: sketcher).decode(UnsafeBufferPointer(rebasing: b.dropLast()))
            }
            let a = e.withoutText, b = back.withoutText
            #expect(a.latencyMilliseconds == b.latencyMilliseconds)
            #expect(a.content == b.content)
            #expect(a.costUSD == b.costUSD)
            #expect(a == b, "\(String(decoding: out, as: UTF8.self))")
        }
    }
}
