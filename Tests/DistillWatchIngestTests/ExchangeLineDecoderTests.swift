import DistillWatchCore
import Testing
@testable import DistillWatchIngest

@Suite struct ExchangeLineDecoderTests {
    let decoder = ExchangeLineDecoder(captureText: true)

    @Test func decodesEveryFieldOfTheSpec() throws {
        let line = #"""
            {"time":"2026-04-22T03:14:15.926Z","account_id":"acct-17","request_id":"r1","api_key_id":"k1",
            "model":"m-large","operation":"chat","input_tokens":120,"output_tokens":900,"reasoning_tokens":400,
            "max_tokens":32000,"temperature":0.7,"stream":true,"thinking":false,"tool_count":3,"message_count":1,
            "finish_reason":"end_turn","status":429,"latency_ms":1234.5,"client_ip":"2001:db8::1","asn":64500,
            "country":"DE","user_agent":"sdk/1.2","client_fingerprint":"t13d1516h2","system":"You are helpful.",
            "prompt":"Explain \"monads\"\n\u00e9\ud83d\ude00","response":"ok"}
            """#.replacingOccurrences(of: "\n", with: "")
        let e = try decoder.decode(line)
        #expect(e.time.millisecondsSinceEpoch == 1_776_827_655_926)
        #expect(e.accountID == "acct-17")
        #expect(e.requestID == "r1" && e.apiKeyID == "k1" && e.model == "m-large" && e.operation == "chat")
        #expect(e.inputTokens == 120 && e.outputTokens == 900 && e.reasoningTokens == 400 && e.maxTokens == 32000)
        #expect(e.temperature == 0.7 && e.stream == true && e.thinking == false)
        #expect(e.toolCount == 3 && e.messageCount == 1 && e.finishReason == "end_turn" && e.status == 429)
        #expect(e.latencyMilliseconds == 1234.5 && e.clientIP == "2001:db8::1" && e.asn == 64500 && e.country == "DE")
        #expect(e.userAgent == "sdk/1.2" && e.clientFingerprint == "t13d1516h2" && e.system == "You are helpful.")
        #expect(e.prompt == "Explain \"monads\"\né😀")
        #expect(e.response == "ok")
    }

    /// A record the decoder returns was checked against the limits (the scanner does not
    /// check it again), with content sketched or not, and only when the decoder checks.
    @Test func returnsRecordsCheckedWithinLimits() throws {
        let line = #"{"time":1776827655926,"account_id":"a","model":"m","prompt":"Explain monads step by step"}"#
        #expect(try decoder.decode(line).isCheckedWithinLimits)
        let sketching = ExchangeLineDecoder(sketcher: ContentSketcher(key: ContentKey(k0: 1, k1: 2)))
        let sketched = try sketching.decode(line)
        #expect(sketched.content != nil && sketched.isCheckedWithinLimits)
        #expect(try !ExchangeLineDecoder(validatesLimits: false).decode(line).isCheckedWithinLimits)
    }

    @Test func acceptsBothTimeEncodings() throws {
        let a = try decoder.decode(#"{"time":"2026-04-22T05:14:15.926+02:00","account_id":"a"}"#)
        let b = try decoder.decode(#"{"time":1776827655926,"account_id":"a"}"#)
        #expect(a.time == b.time)
        #expect(a.time.rfc3339 == "2026-04-22T03:14:15.926Z")
    }

    @Test func nullIsAbsentAndUnknownFieldsAreSkipped() throws {
        let e = try decoder.decode(
            #"{"account_id":"a","extra":{"nested":[1,2.5e3,{"x":"}"}],"s":null},"model":null,"time":1776827655926,"tags":["a","b"]}"#)
        #expect(e.model == nil)
        #expect(e.time.millisecondsSinceEpoch == 1_776_827_655_926)
    }

    /// A ClickHouse table without a Bool type (18.16) gives flags as 0 and 1: read as
    /// booleans only when the source says so; a file must still write true or false.
    @Test func integerBooleansOnlyWhenTheSourceHasNoBooleanType() throws {
        var lenient = ExchangeLineDecoder()
        lenient.integerBooleans = true
        let e = try lenient.decode(#"{"time":1776827655926,"account_id":"a","stream":1,"thinking":0,"prefill":null}"#)
        #expect(e.stream == true && e.thinking == false && e.prefill == nil)
        #expect(try lenient.decode(#"{"time":1776827655926,"account_id":"a","stream":true}"#).stream == true)
        for bad in [#""stream":2"#, #""stream":10"#, #""stream":1.0"#, #""stream":"1""#] {
            #expect(throws: RecordError.self, "\(bad)") { try lenient.decode(#"{"time":1776827655926,"account_id":"a","# + bad + "}") }
        }
        #expect(throws: RecordError.self) { try decoder.decode(#"{"time":1776827655926,"account_id":"a","stream":1}"#) }
    }

    @Test func skipsTextUnlessAskedAndMarksItPresent() throws {
        let line = #"{"time":1776827655926,"account_id":"a","prompt":"a long \"quoted\" prompt \\ with escapes"}"#
        let skipped = try ExchangeLineDecoder(captureText: false).decode(line)
        #expect(skipped.prompt == "")
        #expect(try ExchangeLineDecoder(captureText: true).decode(line).prompt == #"a long "quoted" prompt \ with escapes"#)
    }

    @Test(arguments: [
        (#"{"account_id":"a"}"#, "time", "missing required field"),
        (#"{"time":1776827655926}"#, "account_id", "missing required field"),
        (#"{"time":1776827655926,"account_id":""}"#, "account_id", "is empty"),
        (#"{"time":"yesterday","account_id":"a"}"#, "time", "RFC 3339"),
        (#"{"time":1.5,"account_id":"a"}"#, "time", "not a time between 2000 and 2100"),
        (#"{"time":1776827655926,"account_id":7}"#, "account_id", "should be a string"),
        (#"{"time":1776827655926,"account_id":"a","output_tokens":"12"}"#, "output_tokens", "should be an integer"),
        (#"{"time":1776827655926,"account_id":"a","output_tokens":1.5}"#, "output_tokens", "not a fraction"),
        (#"{"time":1776827655926,"account_id":"a","temperature":"hot"}"#, "temperature", "should be a number"),
        (#"{"time":1776827655926,"account_id":"a","stream":"yes"}"#, "stream", "should be true or false"),
        (#"{"time":1776827655926,"account_id":"a","prompt":7}"#, "prompt", "should be a string"),
    ] as [(String, String, String)])
    func namesTheFieldAtFault(_ line: String, _ field: String, _ reason: String) {
        #expect {
            try ExchangeLineDecoder().decode(line)
        } throws: { error in
            let e = error as! RecordError
            return e.field == field && e.reason.contains(reason)
        }
    }

    @Test(arguments: [
        #"{"time":1776827655926,"account_id":"a""#, #"{"time":1776827655926,"account_id":"a"} trailing"#, #"[1,2]"#, #"{"time":1776827655926,"account_id":"a",}"#,
        #"{"time":1776827655926,"account_id":"a\u00"}"#, "{\"time\":0,\"account_id\":\"a\tb\"}", #"{"time":01,"account_id":"a"}"#,
        #"{"time":0 "account_id":"a"}"#, #"{"time":1776827655926,"account_id":"a","x":tru}"#, "not json at all",
    ])
    func rejectsInvalidJSON(_ line: String) {
        #expect(throws: RecordError.self) { try ExchangeLineDecoder().decode(line) }
    }

    @Test func encoderAndDecoderRoundTrip() throws {
        let e = Exchange(time: Timestamp(millisecondsSinceEpoch: 1_776_827_655_926), accountID: "acct-\u{1F600}",
                         model: "m", inputTokens: 3, temperature: 0.25, thinking: true, status: 200,
                         latencyMilliseconds: 12, prompt: "line1\nline2\t\"q\" \\ \u{1}")
        for encoding in [TimeEncoding.rfc3339, .epochMilliseconds] {
            var bytes: [UInt8] = []
            JSONLineEncoder.append(e, to: &bytes, timeEncoding: encoding)
            #expect(bytes.last == 0x0A)
            let decoded = try bytes.dropLast().withUnsafeBufferPointer { (b) throws(RecordError) in
                try ExchangeLineDecoder(captureText: true).decode(b)
            }
            #expect(decoded == e)
        }
    }

    @Test func decodesAccountAndLabelRecords() throws {
        let a = try AccountLineDecoder().decode(
            #"{"account_id":"a","created":"2026-01-01T00:00:00Z","tier":"free","payment_fingerprint":"pf","email_domain":"x.example","declared_country":"FR","verified":true,"allowlisted":false}"#)
        #expect(a == AccountRecord(accountID: "a", created: Timestamp(rfc3339: "2026-01-01T00:00:00Z"), tier: "free",
                                   paymentFingerprint: "pf", emailDomain: "x.example", declaredCountry: "FR",
                                   verified: true, allowlisted: false))
        let l = try LabelLineDecoder().decode(#"{"account_id":"a","label":"attack","campaign":"c1","persona":"hydra"}"#)
        #expect(l == LabelRecord(accountID: "a", label: .attack, campaign: "c1", persona: "hydra"))
        #expect(throws: RecordError.self) { try LabelLineDecoder().decode(#"{"account_id":"a","label":"maybe"}"#) }
    }
}

@Suite struct StoredSketchTests {
    @Test func anExchangeWithoutTextKeepsItsSketch() throws {
        let sketcher = ContentSketcher(key: ContentKey(k0: 3, k1: 4), keepsExcerpts: true)
        let line = #"{"time":1776827655926,"account_id":"a","tool_count":2,"system":"You are terse.","prompt":"Generate 20 diverse problems, each with a solution."}"#
        let original = try ExchangeLineDecoder(sketcher: sketcher).decode(line)
        #expect(original.content?.cues.contains(.syntheticData) == true)
        #expect(original.content?.capability == .agenticToolUse)
        var stored: [UInt8] = []
        JSONLineEncoder.appendWithoutText(original, to: &stored)
        let text = String(decoding: stored, as: UTF8.self)
        #expect(!text.contains("diverse") && !text.contains("terse") && text.contains("dw_content"))
        // Read back with or without a sketcher: the same features, no text; the excerpt
        // (prompt text) only where the reader keeps excerpts.
        var withoutExcerpt = original.content
        withoutExcerpt?.excerpt = nil
        for (decoder, expected) in [(ExchangeLineDecoder(), withoutExcerpt), (ExchangeLineDecoder(sketcher: sketcher), original.content)] {
            let back = try stored.dropLast().withUnsafeBufferPointer { (b) throws(RecordError) in try decoder.decode(b) }
            #expect(back.content == expected)
            #expect(back.prompt == nil && back.system == nil)
        }
    }

    /// A field given twice in a line is read as its last value, as `check_format.py`
    /// (Python's `json`) reads it, stored sketches included; a prompt sketched now still
    /// wins over a stored sketch, wherever it stands.
    @Test func aFieldGivenTwiceIsReadAsItsLastValue() throws {
        let sketcher = ContentSketcher(key: ContentKey(k0: 3, k1: 4))
        func sketch(_ prompt: String) throws -> String {
            let e = try ExchangeLineDecoder(sketcher: sketcher).decode(#"{"time":1776827655926,"account_id":"s","prompt":"\#(prompt)"}"#)
            var stored: [UInt8] = []
            JSONLineEncoder.appendWithoutText(e, to: &stored)
            let line = String(decoding: stored, as: UTF8.self)
            let value = try #require(line.split(separator: #""dw_content":""#).last?.split(separator: "\"").first)
            return String(value)
        }
        let first = try sketch("write a parser for arithmetic expressions in Swift")
        let second = try sketch("list twenty ways to sort an array, with proofs")
        let e = try ExchangeLineDecoder(sketcher: sketcher).decode(
            #"{"time":1776827655926,"account_id":"a","model":"m1","dw_content":"\#(first)","time":1776827655999,"model":"m2","account_id":"b","dw_content":"\#(second)"}"#)
        #expect(e.accountID == "b" && e.model == "m2" && e.time == Timestamp(millisecondsSinceEpoch: 1_776_827_655_999))
        let expected = try ExchangeLineDecoder(sketcher: sketcher).decode(#"{"time":1776827655926,"account_id":"s","dw_content":"\#(second)"}"#)
        #expect(e.content == expected.content && e.content != nil)
        let prompted = try ExchangeLineDecoder(sketcher: sketcher).decode(
            #"{"time":1776827655926,"account_id":"a","prompt":"list twenty ways to sort an array, with proofs","dw_content":"\#(first)"}"#)
        #expect(prompted.content?.exactKey == expected.content?.exactKey && prompted.content?.exactKey != nil)
    }

    @Test func aDamagedSketchIsAMalformedLine() {
        #expect {
            try ExchangeLineDecoder().decode(#"{"time":1776827655926,"account_id":"a","dw_content":"bm90IGEgc2tldGNo"}"#)
        } throws: { ($0 as? RecordError)?.field == "dw_content" }
    }

    @Test func serializationRoundTrips() {
        let f = ContentSketcher(key: ContentKey(k0: 9, k1: 9), keepsExcerpts: true)
            .features(prompt: "Rate this response on a scale of 1 to 10 — é 一步一步", system: "Think step by step.", toolCount: nil)
        #expect(ContentFeatures(serialized: f.serialized()) == f)
        #expect(ContentFeatures(serialized: Array(f.serialized().dropLast())) == nil)
    }
}
