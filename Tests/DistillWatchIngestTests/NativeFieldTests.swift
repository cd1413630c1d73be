import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchIngest

/// Gateway cases read as v1 records (Tests/Fixtures/gateway/native): epoch units, OTel
/// GenAI attribute names, and provider-native request fields.
@Suite struct NativeFieldTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gateway/native")

    static func decode(_ name: String, sketcher: ContentSketcher? = nil) throws -> [Result<Exchange, RecordError>] {
        let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        let decoder = ExchangeLineDecoder(sketcher: sketcher)
        return text.split(separator: "\n").map { line in
            Result { () throws(RecordError) in try decoder.decode(String(line)) }
        }
    }

    /// Case 06: integer and fractional epoch seconds are seconds, never 1970 milliseconds;
    /// a time string without an offset and a numeric string are refused, not guessed.
    @Test func epochNumbersAreToldApartByMagnitude() throws {
        let r = try Self.decode("06-time-epoch-seconds-and-floats.jsonl")
        #expect(try r[0].get().time == Timestamp(rfc3339: "2026-11-18T11:06:40Z"))
        #expect(try r[1].get().time == Timestamp(rfc3339: "2026-11-18T11:06:40.123Z"))
        #expect(try r[4].get().time == Timestamp(rfc3339: "2026-11-18T11:06:40.123Z"))
        for k in [2, 3] {
            guard case .failure(let e) = r[k] else { Issue.record("line \(k + 1) accepted"); continue }
            #expect(e.field == "time" && e.reason.contains("RFC 3339"))
        }
    }

    /// Case 07: an ordinary account logged in epoch seconds over a month. Read as 1970
    /// milliseconds it was 22 minutes of traffic and `review`.
    @Test func anOrdinaryAccountInEpochSecondsSpansItsMonth() throws {
        let exchanges = try Self.decode("07-epoch-seconds-ordinary-account.jsonl").map { try $0.get() }
        #expect(exchanges.count == 1320)
        #expect(exchanges.first?.time == Timestamp(rfc3339: "2026-11-01T17:07:11Z"))
        #expect(exchanges.last?.time == Timestamp(rfc3339: "2026-12-01T00:56:03Z"))
        var scanner = TrafficScanner()
        for e in exchanges { scanner.observe(e) }
        let report = scanner.finish(generatedAt: exchanges.last!.time, includeAllAccounts: true)
        #expect(report.accounts.map(\.verdict) == [.allow])
    }

    /// Case 08: Anthropic's `thinking` object and `system` blocks used to drop the record;
    /// `tools`, `max_completion_tokens`, `reasoning_effort` and `output_config.effort` were
    /// ignored.
    @Test func providerNativeFieldsAreRead() throws {
        let sketcher = ContentSketcher(key: ContentKey(k0: 5, k1: 6))
        let r = try Self.decode("08-anthropic-messages-body-fields.jsonl", sketcher: sketcher).map { try $0.get() }
        #expect(r.map(\.thinking) == [true, true, false, nil, nil])
        #expect(r[1].reasoningEffort == "high")                 // output_config.effort
        #expect(r[2].system == "", "system blocks are present, their text not kept")
        #expect(r[2].content == nil, "no prompt: nothing to sketch")
        #expect(r[3].toolCount == 1)
        #expect(r[4].maxTokens == 100_000)                     // max_completion_tokens
        #expect(r[4].reasoningEffort == "high")
        #expect(r[4].finishReason == "stop")
        let text = try Self.decode("08-anthropic-messages-body-fields.jsonl").map { try $0.get() }
        #expect(text[0].stream == true && text[0].maxTokens == 16_000 && text[0].outputTokens == 9000)
        // With text captured, the blocks' text is the system prompt.
        let captured = try ExchangeLineDecoder(captureText: true).decode(
            #"{"time":"2026-11-20T10:00:02Z","account_id":"a","system":[{"type":"text","text":"Be careful."},{"type":"text","text":"Be brief."}],"user":"end-7"}"#)
        #expect(captured.system == "Be careful.\nBe brief.")
        #expect(captured.endUserID == "end-7")                  // OpenAI's user
        // Anthropic's metadata.user_id (spec §1, end_user_id); a v1 end_user_id still wins.
        let decoder = ExchangeLineDecoder()
        #expect(try decoder.decode(#"{"time":"2026-11-20T10:00:02Z","account_id":"a","metadata":{"user_id":"end-8","x":[1]}}"#).endUserID == "end-8")
        #expect(try decoder.decode(#"{"time":"2026-11-20T10:00:02Z","account_id":"a","metadata":{"user_id":9041}}"#).endUserID == "9041")
        #expect(try decoder.decode(#"{"end_user_id":"v1","time":"2026-11-20T10:00:02Z","account_id":"a","metadata":{"user_id":"end-8"}}"#).endUserID == "v1")
    }

    /// Case 10: OTel GenAI attribute names flattened into a record were accepted with every
    /// useful field ignored; the spec says its names follow them.
    @Test func otelAttributeNamesAreAliases() throws {
        let e = try Self.decode("10-otel-attribute-names-flat.jsonl")[0].get()
        #expect(e.operation == "chat")
        #expect(e.model == "gpt-4")
        #expect(e.maxTokens == 200)
        #expect(e.inputTokens == 52 && e.outputTokens == 47)
        #expect(e.finishReason == "stop")
        #expect(e.clientIP == "203.0.113.7")
        #expect(e.userAgent == "OpenAI/Python 1.99.0")
        // A v1 name wins over its alias, whatever the order.
        let both = try ExchangeLineDecoder().decode(
            #"{"gen_ai.request.model":"alias","time":"2026-11-18T11:06:40Z","account_id":"a","model":"v1","output_tokens":3,"gen_ai.usage.output_tokens":4}"#)
        #expect(both.model == "v1" && both.outputTokens == 3)
        // An alias is checked like the field it stands for.
        #expect(throws: RecordError.self) {
            try ExchangeLineDecoder().decode(#"{"time":"2026-11-18T11:06:40Z","account_id":"a","gen_ai.usage.output_tokens":-1}"#)
        }
        #expect(throws: RecordError.self) {
            try ExchangeLineDecoder().decode(#"{"time":"2026-11-18T11:06:40Z","account_id":"a","gen_ai.usage.output_tokens":"many"}"#)
        }
    }
}
