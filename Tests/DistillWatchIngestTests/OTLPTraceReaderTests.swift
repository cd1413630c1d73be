import DistillWatchCore
import DistillWatchTestSupport
import Foundation
import Testing
@testable import DistillWatchIngest

/// OTLP traces read as exchanges (``OTLPTraceReader``): case 09 and captures of the real
/// OpenTelemetry Python SDK (Tests/Fixtures/gateway/otlp).
@Suite(.onTheHeavyLane) struct OTLPTraceReaderTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gateway/otlp")

    static func exchanges(json: String, reader: OTLPTraceReader = OTLPTraceReader(decoder: ExchangeLineDecoder()))
        throws -> (exchanges: [Exchange], errors: [String], tally: OTLPTraceReader.Tally) {
        var bytes = Array(json.utf8)
        let request = try bytes.withUnsafeMutableBytes { raw in
            try Result { () throws(RecordError) in try OTLPTraceReader.request(from: UnsafeRawBufferPointer(raw), encoding: .json) }.get()
        }
        var out: [Exchange] = []
        var errors: [String] = []
        let tally = reader.forEachSpan(in: request, encoding: .json) { position, result in
            switch result {
            case .success(let e): out.append(e)
            case .failure(let e): errors.append("\(position): \(e)")
            }
        }
        return (out, errors, tally)
    }

    /// Case 09: the span's GenAI attributes land in the exchange's fields.
    @Test func aGenAISpanIsAnExchangeWithItsAttributes() throws {
        let text = try String(contentsOf: Self.folder.appendingPathComponent("09-otlp-genai-span.json"), encoding: .utf8)
        let (exchanges, errors, tally) = try Self.exchanges(json: text)
        #expect(errors.isEmpty)
        #expect(tally == OTLPTraceReader.Tally(spans: 1, genAISpans: 1))
        let e = try #require(exchanges.first)
        #expect(e.accountID == "acct-placeholder-otel")
        #expect(e.time == Timestamp(rfc3339: "2026-11-18T11:06:40Z"))
        #expect(e.latencyMilliseconds == 1500)
        #expect(e.model == "gpt-4")
        #expect(e.operation == "chat")
        #expect(e.maxTokens == 200)
        #expect(e.inputTokens == 52)
        #expect(e.outputTokens == 47)
        #expect(e.finishReason == "stop")
        #expect(e.clientIP == "203.0.113.7")
        #expect(e.userAgent == "OpenAI/Python 1.99.0")
        #expect(e.requestID == "00f067aa0ba902b7", "the span id, as OTLP/JSON writes it")
    }

    static func span(_ attributes: String, start: String = "1795000000000000000", end: String = "1795000000250000000",
                     resource: String = "") -> String {
        """
        {"resourceSpans":[{"resource":{"attributes":[\(resource)]},"scopeSpans":[{"spans":[
          {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"1111111111111111","name":"POST /v1/chat/completions","kind":2,
           "startTimeUnixNano":"\(start)","endTimeUnixNano":"\(end)","attributes":[{"key":"http.request.method","value":{"stringValue":"POST"}}]},
          {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"2222222222222222","parentSpanId":"1111111111111111","name":"chat m","kind":3,
           "startTimeUnixNano":"\(start)","endTimeUnixNano":"\(end)","attributes":[\(attributes)]}
        ]}]}]}
        """
    }

    static func attribute(_ key: String, _ value: String) -> String { #"{"key":"\#(key)","value":\#(value)}"# }

    /// Other spans are ignored; messages give the prompt, the system instructions and the
    /// message count; the account may sit on the resource; older usage names are read.
    @Test func messagesResourceAccountAndOlderNames() throws {
        let messages = #"[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"first\"}]},{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":\"ok\"}]},{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Explain step by step.\"}]}]"#
        let json = Self.span([
            Self.attribute("gen_ai.request.model", #"{"stringValue":"m"}"#),
            Self.attribute("gen_ai.usage.prompt_tokens", #"{"intValue":"12"}"#),
            Self.attribute("gen_ai.usage.completion_tokens", #"{"intValue":34}"#),
            Self.attribute("gen_ai.input.messages", #"{"stringValue":"\#(messages)"}"#),
            Self.attribute("gen_ai.system_instructions", #"{"stringValue":"[{\"type\":\"text\",\"content\":\"Be brief.\"}]"}"#),
            Self.attribute("asn", #"{"intValue":"64500"}"#),
        ].joined(separator: ","), resource: Self.attribute("enduser.id", #"{"stringValue":"tenant-7"}"#))
        let reader = OTLPTraceReader(decoder: ExchangeLineDecoder(captureText: true))
        let (exchanges, errors, tally) = try Self.exchanges(json: json, reader: reader)
        #expect(errors.isEmpty, "\(errors)")
        #expect(tally == OTLPTraceReader.Tally(spans: 2, genAISpans: 1))
        let e = try #require(exchanges.first)
        #expect(e.accountID == "tenant-7")
        #expect(e.inputTokens == 12 && e.outputTokens == 34)
        #expect(e.messageCount == 3)
        #expect(e.prompt == "Explain step by step.")
        #expect(e.system == "Be brief.")
        #expect(e.asn == 64500)
        #expect(e.latencyMilliseconds == 250)
        #expect(e.requestID == "2222222222222222")
    }

    /// A span's latency is read in the unit its start time's magnitude gives it, as its time
    /// is: a 2-second span written in seconds, milliseconds or microseconds was 2e-06, 0.002
    /// and 2 ms (the difference always divided by 1e6).
    @Test(arguments: [("1795000000", "1795000002"), ("1795000000000", "1795000002000"),
                      ("1795000000000000", "1795000002000000"), ("1795000000000000000", "1795000002000000000")])
    func latencyIsReadInTheUnitOfTheTime(_ times: (String, String)) throws {
        let json = Self.span(Self.attribute("gen_ai.request.model", #"{"stringValue":"m"}"#) + ","
                             + Self.attribute("user.id", #"{"stringValue":"a"}"#), start: times.0, end: times.1)
        let (exchanges, errors, _) = try Self.exchanges(json: json)
        #expect(errors.isEmpty, "\(errors)")
        let e = try #require(exchanges.first)
        #expect(e.time == Timestamp(millisecondsSinceEpoch: 1_795_000_000_000))
        #expect(e.latencyMilliseconds == 2000, "\(times)")
    }

    /// A 64-bit value past its range fails the whole request (protobuf's JSON mapping decodes
    /// it whole); the error says which kind of value, not SwiftProtobuf's `numberRange`.
    @Test func aNumberPastItsRangeIsNamedInWords() throws {
        for json in [Self.span(Self.attribute("gen_ai.request.model", #"{"stringValue":"m"}"#) + ","
                               + Self.attribute("asn", #"{"intValue":"9223372036854775808"}"#)),
                     Self.span(Self.attribute("gen_ai.request.model", #"{"stringValue":"m"}"#), start: "18446744073709551616")] {
            var bytes = Array(json.utf8)
            do {
                _ = try bytes.withUnsafeMutableBytes { raw in try OTLPTraceReader.request(from: UnsafeRawBufferPointer(raw), encoding: .json) }
                Issue.record("accepted")
            } catch {
                #expect("\(error)".contains("a number is outside its field's range: intValue is a signed 64-bit integer"), "\(error)")
                #expect(!"\(error)".contains("numberRange"))
            }
        }
    }

    /// A GenAI span without an account, or with a v1 value out of range, is an error naming
    /// the span and the field; the other spans of the request still count.
    @Test func unusableSpansAreNamed() throws {
        let noAccount = try Self.exchanges(json: Self.span(Self.attribute("gen_ai.request.model", #"{"stringValue":"m"}"#)))
        #expect(noAccount.exchanges.isEmpty)
        let message = try #require(noAccount.errors.first)
        #expect(message.contains("resourceSpans[0].scopeSpans[0].spans[1] (spanId 2222222222222222, \"chat m\")"))
        #expect(message.contains("account_id") && message.contains("user.id, enduser.id"))

        let negative = try Self.exchanges(json: Self.span([
            Self.attribute("user.id", #"{"stringValue":"a"}"#),
            Self.attribute("gen_ai.usage.output_tokens", #"{"intValue":"-5"}"#),
        ].joined(separator: ",")))
        #expect(negative.exchanges.isEmpty)
        #expect(negative.errors.first?.contains("output_tokens") == true, "\(negative.errors)")

        let noStart = try Self.exchanges(json: Self.span(Self.attribute("gen_ai.request.model", #"{"stringValue":"m"}"#), start: "0", end: "0"))
        #expect(noStart.errors.first?.contains("startTimeUnixNano") == true)

        let configured = OTLPTraceReader(accountAttributes: ["tenant.id"], decoder: ExchangeLineDecoder())
        let byTenant = try Self.exchanges(json: Self.span([
            Self.attribute("user.id", #"{"stringValue":"person"}"#), Self.attribute("tenant.id", #"{"intValue":"42"}"#),
            Self.attribute("gen_ai.operation.name", #"{"stringValue":"chat"}"#),
        ].joined(separator: ",")), reader: configured)
        #expect(byTenant.exchanges.first?.accountID == "42")
    }

    /// Bodies that are not an ExportTraceServiceRequest are refused with the decoder's reason.
    @Test func notARequestIsRefused() throws {
        for (bytes, encoding) in [(Array("[1,2]".utf8), OTLPTraceReader.Encoding.json), (Array("".utf8), .json),
                                  ([0xFF, 0xFF, 0xFF], .protobuf), (Array(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"xyz!"}]}]}]}"#.utf8), .json)] {
            let result = bytes.withUnsafeBytes { raw in
                Result { () throws(RecordError) in try OTLPTraceReader.request(from: raw, encoding: encoding) }
            }
            guard case .failure(let error) = result else { Issue.record("accepted \(bytes)"); continue }
            #expect(error.reason.contains("OTLP") || error.reason.contains("empty"), "\(error)")
        }
    }

    /// The real SDK's protobuf bodies and its JSON file give the same exchanges, field for
    /// field: the two encodings meet in one mapping.
    @Test func theSDKsProtobufAndJSONFileGiveTheSameExchanges() throws {
        let sdk = Self.folder.appendingPathComponent("python-sdk-1.45.2")
        let reader = OTLPTraceReader(decoder: ExchangeLineDecoder())
        var fromProtobuf: [Exchange] = []
        let bodies = try FileManager.default.contentsOfDirectory(atPath: sdk.appendingPathComponent("proto-http-exporter-1.45.2").path)
            .filter { $0.hasSuffix(".bin") }.sorted()
        #expect(bodies.count == 26)
        for name in bodies {
            let sent = try Data(contentsOf: sdk.appendingPathComponent("proto-http-exporter-1.45.2/\(name)"))
            let body = try sent.withUnsafeBytes { raw in try GzipBody.inflate(raw, limit: 64 << 20) }
            let request = try body.withUnsafeBytes { raw in
                try Result { () throws(RecordError) in try OTLPTraceReader.request(from: raw, encoding: .protobuf) }.get()
            }
            reader.forEachSpan(in: request, encoding: .protobuf) { _, result in
                if case .success(let e) = result { fromProtobuf.append(e) } else { Issue.record("\(result)") }
            }
        }
        var fromFile: [Exchange] = []
        let decoder = TrafficLineDecoder(.otlp, options: IngestOptions())
        var file = LineReader(.file(sdk.appendingPathComponent("json-file-exporter-0.66b1.jsonl.gz").path))
        try file.forEachLine { _, bytes in
            decoder.decode(bytes, exchange: { fromFile.append($0) }, malformed: { Issue.record("\($0)") })
        }
        #expect(fromProtobuf.count == 6509)
        #expect(fromFile.count == 6509)
        #expect(fromProtobuf == fromFile)
        // And they are the v1 records the spans were made from, field for field.
        var fromV1: [Exchange] = []
        let v1 = TrafficLineDecoder(.v1, options: IngestOptions())
        var source = LineReader(.file(sdk.appendingPathComponent("source-v1.jsonl.gz").path))
        try source.forEachLine { _, bytes in
            v1.decode(bytes, exchange: { fromV1.append($0) }, malformed: { Issue.record("\($0)") })
        }
        #expect(fromV1.count == 6509)
        for (k, (a, b)) in zip(fromV1, fromProtobuf).enumerated() where a != b {
            Issue.record("exchange \(k): v1 \(a) but OTLP \(b)")
            break
        }
    }
}

/// What the fresh-user review found: agent and tool spans are not model calls, and message
/// content that cannot be read does not cost the span.
@Suite struct OTLPSpanSelectionTests {
    @Test func agentAndToolSpansAreIgnored() throws {
        let agent = OTLPTraceReaderTests.span([
            OTLPTraceReaderTests.attribute("gen_ai.operation.name", #"{"stringValue":"invoke_agent"}"#),
            OTLPTraceReaderTests.attribute("user.id", #"{"stringValue":"agent-user"}"#),
        ].joined(separator: ","))
        let (exchanges, errors, tally) = try OTLPTraceReaderTests.exchanges(json: agent)
        #expect(exchanges.isEmpty && errors.isEmpty)
        #expect(tally == OTLPTraceReader.Tally(spans: 2, genAISpans: 0))
    }

    @Test func unreadableMessagesAreLeftOut() throws {
        let json = OTLPTraceReaderTests.span([
            OTLPTraceReaderTests.attribute("user.id", #"{"stringValue":"u"}"#),
            OTLPTraceReaderTests.attribute("gen_ai.usage.output_tokens", #"{"intValue":"77"}"#),
            OTLPTraceReaderTests.attribute("gen_ai.input.messages", #"{"stringValue":"[{not json"}"#),
            OTLPTraceReaderTests.attribute("gen_ai.system_instructions", #"{"intValue":"3"}"#),
        ].joined(separator: ","))
        let (exchanges, errors, _) = try OTLPTraceReaderTests.exchanges(json: json)
        #expect(errors.isEmpty, "\(errors)")
        #expect(exchanges.first?.outputTokens == 77 && exchanges.first?.prompt == nil && exchanges.first?.messageCount == nil)
    }
}
