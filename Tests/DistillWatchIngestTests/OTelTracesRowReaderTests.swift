import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchIngest

/// Rows of the OpenTelemetry Collector's ClickHouse exporter table `otel_traces`, as
/// ClickHouse writes them in JSONEachRow (every attribute value a string).
@Suite struct OTelTracesRowReaderTests {
    static let reader = OTelTracesRowReader(otlp: OTLPTraceReader(decoder: ExchangeLineDecoder(captureText: true)))

    static func decode(_ line: String, reader: OTelTracesRowReader = reader) throws(RecordError) -> Exchange? {
        let bytes = Array(line.utf8)
        return try bytes.withUnsafeBufferPointer { b throws(RecordError) in try reader.decode(b) }
    }

    @Test func aGenAISpanRowIsTheExchangeItsSpanWouldBe() throws {
        let row = #"""
            {"Timestamp":"1775000000123456789","TraceId":"0af7651916cd43dd8448eb211c80319c","SpanId":"b7ad6b7169203331",
             "SpanName":"chat m-large","Duration":"812000000","StatusCode":"Unset",
             "ResourceAttributes":{"service.name":"gateway","user.id":"acct-from-resource"},
             "SpanAttributes":{"gen_ai.operation.name":"chat","gen_ai.request.model":"m-large","user.id":"acct-17",
               "gen_ai.usage.input_tokens":"812","gen_ai.usage.output_tokens":"4000","gen_ai.request.max_tokens":"32000",
               "gen_ai.request.temperature":"1","gen_ai.request.stream":"true","gen_ai.response.finish_reasons":"[\"length\"]",
               "http.response.status_code":"200","client.address":"203.0.113.9","user_agent.original":"python-httpx/0.27",
               "asn":"64500","prefill":"false",
               "gen_ai.input.messages":"[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Think step by step.\"}]}]"}}
            """#.replacingOccurrences(of: "\n", with: "")
        let e = try #require(try Self.decode(row))
        #expect(e.accountID == "acct-17", "the span's attribute before the resource's")
        #expect(e.time == Timestamp(millisecondsSinceEpoch: 1_775_000_000_123))
        #expect(e.requestID == "b7ad6b7169203331" && e.latencyMilliseconds == 812)
        #expect(e.model == "m-large" && e.operation == "chat")
        #expect(e.inputTokens == 812 && e.outputTokens == 4000 && e.maxTokens == 32000)
        #expect(e.temperature == 1 && e.stream == true && e.finishReason == "length" && e.status == 200)
        #expect(e.clientIP == "203.0.113.9" && e.userAgent == "python-httpx/0.27" && e.asn == 64500 && e.prefill == false)
        #expect(e.prompt == "Think step by step." && e.messageCount == 1)
    }

    @Test func spansThatAreNotModelCallsAreSkipped() throws {
        #expect(try Self.decode(#"{"Timestamp":1775000000000000000,"SpanAttributes":{"gen_ai.operation.name":"invoke_agent","user.id":"a"}}"#) == nil)
        #expect(try Self.decode(#"{"Timestamp":1775000000000000000,"SpanAttributes":{"db.system":"postgresql"}}"#) == nil)
    }

    @Test func badRowsNameTheColumnOrField() {
        let cases: [(String, String)] = [
            (#"{"SpanAttributes":{"gen_ai.operation.name":"chat","user.id":"a"}}"#, "Timestamp"),
            (#"{"Timestamp":"yesterday","SpanAttributes":{"gen_ai.operation.name":"chat","user.id":"a"}}"#, "Timestamp"),
            (#"{"Timestamp":1775000000000000000,"Duration":"-5","SpanAttributes":{"gen_ai.operation.name":"chat","user.id":"a"}}"#, "Duration"),
            // A duration that ends past 64 bits of nanoseconds: an error, not a wrapped end.
            (#"{"Timestamp":1775000000000000000,"Duration":"18446744073709551615","SpanAttributes":{"gen_ai.operation.name":"chat","user.id":"a"}}"#, "Duration"),
            (#"{"Timestamp":1775000000000000000,"SpanAttributes":{"gen_ai.operation.name":"chat"}}"#, "account_id"),
            (#"{"Timestamp":1775000000000000000,"SpanAttributes":{"gen_ai.operation.name":"chat","user.id":"a","gen_ai.usage.input_tokens":"many"}}"#,
             "gen_ai.usage.input_tokens"),
            (#"{"Timestamp":1775000000000000000,"SpanAttributes":["not a map"]}"#, "SpanAttributes"),
            // Past 2554 a time has no 64-bit epoch nanoseconds (the multiplication trapped);
            // before 1970 it has none either (it became 0, "no span start time").
            (#"{"Timestamp":"2600-01-01T00:00:00Z","SpanAttributes":{"gen_ai.operation.name":"chat","user.id":"a"}}"#, "Timestamp"),
            (#"{"Timestamp":"9999-12-31T23:59:59Z","SpanAttributes":{"gen_ai.operation.name":"chat","user.id":"a"}}"#, "Timestamp"),
            (#"{"Timestamp":"1969-12-31T23:59:59Z","SpanAttributes":{"gen_ai.operation.name":"chat","user.id":"a"}}"#, "Timestamp"),
        ]
        for (row, field) in cases {
            do {
                _ = try Self.decode(row)
                Issue.record("\(row): accepted")
            } catch {
                #expect(error.field == field || error.description.contains(field), "\(row): \(error)")
            }
        }
    }

    @Test func theFormatIsRecognisedFromItsColumns() {
        let line = Array(#"{"Timestamp":"2026-04-01 00:00:00.000000000","SpanAttributes":{}}"#.utf8)
        #expect(line.withUnsafeBufferPointer { InputFormatRecognition.recognise(line: $0) } == .otelTraces)
    }
}
