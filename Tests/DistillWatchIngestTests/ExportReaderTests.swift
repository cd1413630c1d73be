import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchIngest

/// Providers' own exports read as exchanges: OpenAI Batch files (case 11) and Helicone
/// request exports (case 17), from Tests/Fixtures/gateway/exports.
@Suite struct ExportReaderTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gateway/exports")

    static func lines(_ name: String) throws -> [String] {
        try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8).split(separator: "\n").map(String.init)
    }

    static func decode(_ line: String, _ body: (UnsafeBufferPointer<UInt8>) throws(RecordError) -> Exchange) -> Result<Exchange, RecordError> {
        var bytes = Array(line.utf8)
        return bytes.withUnsafeMutableBufferPointer { b in Result { () throws(RecordError) in try body(UnsafeBufferPointer(b)) } }
    }

    /// Case 11: output lines are exchanges at their response's `created` (epoch seconds),
    /// with usage and finish reason; the input file, joined by custom_id, adds the request.
    @Test func openAIBatchOutputJoinedWithItsInput() throws {
        var requests: [String: OpenAIBatchRequest] = [:]
        for line in try Self.lines("11-openai-batch-input.jsonl") {
            var bytes = Array(line.utf8)
            let (id, request) = try bytes.withUnsafeMutableBufferPointer { b in
                try Result { () throws(RecordError) in try OpenAIBatchReader.request(UnsafeBufferPointer(b)) }.get()
            }
            requests[id] = request
        }
        #expect(requests.count == 3)
        let reader = OpenAIBatchReader(accountID: "acct-batch", batchID: "batch_abc", requests: requests,
                                       decoder: ExchangeLineDecoder(captureText: true))
        let exchanges = try Self.lines("11-openai-batch-output.jsonl").map { try Self.decode($0, reader.decode).get() }
        #expect(exchanges.count == 3)
        let e = exchanges[1]
        #expect(e.time == Timestamp(rfc3339: "2026-11-18T11:06:41Z"), "created 1795000001 is epoch seconds")
        #expect(e.accountID == "acct-batch" && e.batchID == "batch_abc")
        #expect(e.requestID == "req_placeholder1")
        #expect(e.model == "gpt-4o-mini-2024-07-18")
        #expect(e.status == 200 && e.inputTokens == 180 && e.outputTokens == 2 && e.finishReason == "stop")
        #expect(e.maxTokens == 20 && e.temperature == 0 && e.messageCount == 2)
        #expect(e.prompt == "Ticket 1: placeholder ticket text")
        #expect(e.system?.hasPrefix("Classify the support ticket") == true)
    }

    /// Input lines, failed requests and a missing account are errors that say what to do.
    @Test func openAIBatchLinesThatAreNotExchangesSayWhy() throws {
        let reader = OpenAIBatchReader(accountID: "a", batchID: nil, decoder: ExchangeLineDecoder())
        let input = try Self.lines("11-openai-batch-input.jsonl")[0]
        guard case .failure(let asOutput) = Self.decode(input, reader.decode) else { Issue.record("input line accepted"); return }
        #expect(asOutput.reason.contains("--openai-batch-input"))
        let expired = #"{"id":"batch_req_1","custom_id":"t-9","response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}"#
        guard case .failure(let failed) = Self.decode(expired, reader.decode) else { Issue.record("expired line accepted"); return }
        #expect(failed.field == "error" && failed.reason.contains("batch_expired"))
        let noAccount = OpenAIBatchReader(accountID: nil, batchID: nil, decoder: ExchangeLineDecoder())
        guard case .failure(let unnamed) = Self.decode(try Self.lines("11-openai-batch-output.jsonl")[0], noAccount.decode) else {
            Issue.record("accepted without an account"); return
        }
        #expect(unnamed.reason.contains("--openai-batch-account"))
    }

    /// Case 17: a Helicone export has no `time`; its `request_created_at` is the time, the
    /// Helicone-User-Id the account, `delay_ms` the latency.
    @Test func heliconeExport() throws {
        let reader = HeliconeExportReader(decoder: ExchangeLineDecoder(captureText: true))
        let exchanges = try Self.lines("17-helicone-export.jsonl").map { try Self.decode($0, reader.decode).get() }
        #expect(exchanges.count == 3)
        let e = exchanges[0]
        #expect(e.time == Timestamp(rfc3339: "2026-11-20T10:00:00Z"))
        #expect(e.accountID == "user-placeholder-7")
        #expect(e.requestID == "req-placeholder-0")
        #expect(e.model == "gpt-4o")
        #expect(e.inputTokens == 140 && e.outputTokens == 500 && e.reasoningTokens == 0)
        #expect(e.latencyMilliseconds == 900 && e.status == 200 && e.costUSD == 0.0053)
        #expect(e.maxTokens == 4096 && e.messageCount == 1 && e.prompt == "placeholder" && e.finishReason == "stop")
        #expect(e.country == "US")
        let noTime = #"{"request_id":"r","request_user_id":"u"}"#
        guard case .failure(let error) = Self.decode(noTime, reader.decode) else { Issue.record("accepted"); return }
        #expect(error.field == "request_created_at")
    }

    /// Helicone's ClickHouse table keeps the bodies as JSON text (`String` columns), which
    /// is what `scan --source … --clickhouse-mapping helicone` reads: the same exchange as
    /// from a body object; an empty body (not logged, or past the table's TTL) is no body;
    /// text that is not an object is named.
    @Test func heliconeBodiesAsJSONText() throws {
        let reader = HeliconeExportReader(decoder: ExchangeLineDecoder(captureText: true))
        let request = #"{\"model\":\"gpt-4o\",\"max_tokens\":4096,\"temperature\":0.2,\"messages\":[{\"role\":\"user\",\"content\":\"placeholder\"}]}"#
        let response = #"{\"choices\":[{\"finish_reason\":\"length\"}]}"#
        let line = #"{"request_created_at":1779271200000,"request_user_id":"u-1","request_body":""# + request
            + #"","response_body":""# + response + #""}"#
        let e = try Self.decode(line, reader.decode).get()
        #expect(e.accountID == "u-1" && e.time == Timestamp(millisecondsSinceEpoch: 1_779_271_200_000))
        #expect(e.maxTokens == 4096 && e.temperature == 0.2 && e.prompt == "placeholder" && e.messageCount == 1)
        #expect(e.finishReason == "length")
        let empty = try Self.decode(#"{"request_created_at":1779271200000,"request_user_id":"u-1","request_body":"","response_body":""}"#,
                                    reader.decode).get()
        #expect(empty.maxTokens == nil && empty.finishReason == nil)
        let notObject = #"{"request_created_at":1779271200000,"request_user_id":"u-1","request_body":"[1,2]"}"#
        guard case .failure(let error) = Self.decode(notObject, reader.decode) else { Issue.record("accepted"); return }
        #expect(error.field == "request_body")
    }

    /// `--input-format auto` tells each export from its first line.
    @Test func autoRecognisesEachExport() throws {
        for (name, format) in [("11-openai-batch-output.jsonl", InputFormat.openaiBatch), ("11-openai-batch-input.jsonl", .openaiBatch),
                               ("17-helicone-export.jsonl", .helicone)] {
            let choice = try InputFormatRecognition.recognise(.file(Self.folder.appendingPathComponent(name).path))
            #expect(choice.format == format, "\(name)")
        }
        let otlp = Self.folder.deletingLastPathComponent().appendingPathComponent("otlp/09-otlp-genai-span.json")
        #expect(try InputFormatRecognition.recognise(.file(otlp.path)).format == .otlp)
    }
}

/// Langfuse observation exports: generations are exchanges, other observation types are
/// skipped, a generation whose trace names no user is an error naming `userId`.
@Suite struct LangfuseExportReaderTests {
    @Test func generationsAreExchanges() throws {
        let reader = LangfuseExportReader(decoder: ExchangeLineDecoder(captureText: true))
        let lines = try ExportReaderTests.lines("langfuse-observations.jsonl")
        var results: [Result<Exchange?, RecordError>] = []
        for line in lines {
            var bytes = Array(line.utf8)
            results.append(bytes.withUnsafeMutableBufferPointer { b in Result { () throws(RecordError) in try reader.decode(UnsafeBufferPointer(b)) } })
        }
        let first = try #require(try results[0].get())
        #expect(first.time == Timestamp(rfc3339: "2026-11-20T10:00:00Z"))
        #expect(first.accountID == "user-placeholder-3" && first.requestID == "obs-1" && first.model == "gpt-4o")
        #expect(first.latencyMilliseconds == 2500)
        #expect(first.inputTokens == 30, "usageDetails keys containing input, summed as Langfuse does")
        #expect(first.outputTokens == 480 && first.costUSD == 0.0049)
        #expect(first.maxTokens == 4096 && first.temperature == 0.7 && first.stream == true, "parameters kept as text")
        #expect(first.messageCount == 2 && first.prompt == "Explain step by step how TLS works." && first.system == "You are terse.")
        #expect(try results[1].get() == nil, "a SPAN is not an exchange")
        let plain = try #require(try results[2].get())
        #expect(plain.prompt == "Summarise this ticket." && plain.messageCount == 1 && plain.inputTokens == 12)
        guard case .failure(let error) = results[3] else { Issue.record("a generation without a user was accepted"); return }
        #expect(error.field == "userId")
        let choice = try InputFormatRecognition.recognise(.file(ExportReaderTests.folder.appendingPathComponent("langfuse-observations.jsonl").path))
        #expect(choice.format == .langfuse)
    }

    /// Numbers a Langfuse export may hold that no integer holds (`max_tokens` "1e300", token
    /// parts whose sum passes 64 bits, a negative part) are errors naming the field, never a
    /// trap or a wrapped count; integral forms ("1e3", 4096.0) are read.
    @Test func numbersBeyondAnIntegerAreErrorsNamingTheField() throws {
        let reader = LangfuseExportReader(decoder: ExchangeLineDecoder())
        let lines = try ExportReaderTests.lines("langfuse-hostile-numbers.jsonl")
        let results = lines.map { line -> Result<Exchange?, RecordError> in
            var bytes = Array(line.utf8)
            return bytes.withUnsafeMutableBufferPointer { b in Result { () throws(RecordError) in try reader.decode(UnsafeBufferPointer(b)) } }
        }
        #expect(results.count == 10)
        func failure(_ i: Int) -> RecordError? { if case .failure(let e) = results[i] { return e }; return nil }
        func exchange(_ i: Int) -> Exchange? { if case .success(let e) = results[i] { return e }; return nil }
        #expect(failure(0)?.field == "modelParameters.max_tokens" && failure(0)?.reason.contains("beyond 64 bits") == true, "\(results[0])")
        #expect(failure(1)?.field == "usageDetails.input_cached" && failure(1)?.reason.contains("more than 64 bits") == true, "\(results[1])")
        #expect(failure(2)?.field == "usageDetails" && failure(2)?.reason.contains("64 bits") == true, "\(results[2])")
        #expect(exchange(3)?.maxTokens == 4096 && exchange(3)?.inputTokens == 30)
        #expect(failure(4)?.field == "modelParameters.max_tokens" && failure(4)?.reason.contains("not a fraction") == true, "\(results[4])")
        #expect(exchange(5)?.maxTokens == 1000 && exchange(5)?.temperature == 10, "\(results[5])")
        #expect(failure(6)?.reason.contains("is not a number") == true, "\(results[6])")
        #expect(exchange(7)?.maxTokens == 4096, "\(results[7])")
        #expect(failure(8)?.field == "usageDetails.input_audio" && failure(8)?.reason.contains("negative") == true, "\(results[8])")
        #expect(exchange(9)?.inputTokens == 5 && exchange(9)?.outputTokens == 7, "\(results[9])")
    }
}

/// Inputs that cannot be read twice (a pipe, a FIFO) are not sniffed: reading them to
/// recognise the format would lose their first lines.
@Suite struct RecognitionOfStreamsTests {
    @Test func aFIFOIsReadAsV1WithoutBeingOpened() throws {
        let path = NSTemporaryDirectory() + "distillwatch-fifo-\(UInt64.random(in: 0...UInt64.max))"
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        // Opening a FIFO without a writer would block: returning at all shows it was not opened.
        let choice = try InputFormatRecognition.recognise(.file(path))
        #expect(choice == InputFormatRecognition.Choice(format: .v1, line: 0))
    }
}

/// An OpenAI Batch output line joined to a bad request of the input file is blamed on the
/// input file, by custom_id.
@Suite struct OpenAIBatchJoinBlameTests {
    @Test func aBadInputRequestIsNamed() throws {
        var input = Array(#"{"custom_id":"ticket-0","method":"POST","url":"/v1/chat/completions","body":{"model":"m","max_tokens":-1,"messages":[]}}"#.utf8)
        let (id, request) = try input.withUnsafeMutableBufferPointer { b in
            try Result { () throws(RecordError) in try OpenAIBatchReader.request(UnsafeBufferPointer(b)) }.get()
        }
        let reader = OpenAIBatchReader(accountID: "a", batchID: nil, requests: [id: request], decoder: ExchangeLineDecoder())
        let output = try ExportReaderTests.lines("11-openai-batch-output.jsonl")[0]
        guard case .failure(let error) = ExportReaderTests.decode(output, reader.decode) else { Issue.record("accepted"); return }
        #expect(error.field == "max_tokens" && error.reason.contains("--openai-batch-input's request \"ticket-0\""), "\(error)")
    }
}
