import DistillWatchCore

/// OpenAI Batch API files (`/v1/batches`; OpenAI API reference, "Batch": "The request input
/// object" and "The request output object"), read as exchanges.
///
/// An output line is `{"id", "custom_id", "response": {"status_code", "request_id", "body"},
/// "error"}`; the chat completion in `body` gives the time (`created`, epoch seconds, or
/// `created_at` for the Responses API), the model, the usage and the finish reason. Batch
/// files name no account, so the account is given (`--openai-batch-account`), and the
/// batch's id (`batch_id`) too, by default the file's name. The matching input file
/// (`--openai-batch-input`), joined by `custom_id`, adds the request: max_tokens,
/// temperature, messages (prompt, message count, system), tools.
///
/// A line of a failed request (`error` set, `response` null: `batch_expired`,
/// `batch_cancelled`, `request_timeout`) has no time and is reported as such; an input
/// line given as output is named as what it is.
public struct OpenAIBatchReader: Sendable {
    /// The account the batch's exchanges belong to.
    public var accountID: String?
    /// The batch's id, written as each exchange's `batch_id`.
    public var batchID: String?
    /// The input file's requests by `custom_id`.
    public var requests: [String: OpenAIBatchRequest]
    public var decoder: ExchangeLineDecoder

    public init(accountID: String?, batchID: String?, requests: [String: OpenAIBatchRequest] = [:], decoder: ExchangeLineDecoder) {
        self.accountID = accountID
        self.batchID = batchID
        self.requests = requests
        self.decoder = decoder
    }

    /// One output line's exchange.
    /// - Throws: ``RecordError`` naming the field for a line that is not a batch output
    ///   object, has no time, or has a value outside the v1 limits.
    public func decode(_ line: UnsafeBufferPointer<UInt8>) throws(RecordError) -> Exchange {
        var s = JSONScanner(line)
        var id: String?
        var customID: String?
        var statusCode: Int?
        var requestID: String?
        var created: Int?
        var model: String?
        var inputTokens: Int?
        var outputTokens: Int?
        var reasoningTokens: Int?
        var finishReason: String?
        var errorCode: String?
        var sawBody = false
        var sawInputShape = false
        try s.forEachMember { (key, s) throws(RecordError) in
            if keyEquals(key, "id") { id = try s.optionalString("id"); return }
            if keyEquals(key, "custom_id") { customID = try s.optionalIdentifier("custom_id"); return }
            if keyEquals(key, "method") || keyEquals(key, "url") { sawInputShape = true; try s.skipValue(); return }
            if keyEquals(key, "body") { sawInputShape = true; try s.skipValue(); return }
            if keyEquals(key, "error") {
                if s.consumeNull() { return }
                try s.forEachNestedMember("error") { (key, s) throws(RecordError) in
                    if keyEquals(key, "code") { errorCode = try s.optionalString("error.code") } else { try s.skipValue() }
                }
                return
            }
            guard keyEquals(key, "response") else { try s.skipValue(); return }
            if s.consumeNull() { return }
            try s.forEachNestedMember("response") { (key, s) throws(RecordError) in
                if keyEquals(key, "status_code") { statusCode = try s.optionalInt("response.status_code"); return }
                if keyEquals(key, "request_id") { requestID = try s.optionalString("response.request_id"); return }
                guard keyEquals(key, "body") else { try s.skipValue(); return }
                if s.consumeNull() { return }
                sawBody = true
                try s.forEachNestedMember("response.body") { (key, s) throws(RecordError) in
                    if keyEquals(key, "created") || keyEquals(key, "created_at") { created = try s.optionalInt("response.body.created"); return }
                    if keyEquals(key, "model") { model = try s.optionalString("response.body.model"); return }
                    if keyEquals(key, "usage") {
                        if s.consumeNull() { return }
                        try s.forEachNestedMember("response.body.usage") { (key, s) throws(RecordError) in
                            if keyEquals(key, "prompt_tokens") || keyEquals(key, "input_tokens") {
                                inputTokens = try s.optionalInt("response.body.usage.prompt_tokens")
                            } else if keyEquals(key, "completion_tokens") || keyEquals(key, "output_tokens") {
                                outputTokens = try s.optionalInt("response.body.usage.completion_tokens")
                            } else if keyEquals(key, "completion_tokens_details") || keyEquals(key, "output_tokens_details") {
                                if s.consumeNull() { return }
                                try s.forEachNestedMember("response.body.usage.completion_tokens_details") { (key, s) throws(RecordError) in
                                    if keyEquals(key, "reasoning_tokens") {
                                        reasoningTokens = try s.optionalInt("response.body.usage.completion_tokens_details.reasoning_tokens")
                                    } else { try s.skipValue() }
                                }
                            } else { try s.skipValue() }
                        }
                        return
                    }
                    if keyEquals(key, "choices") {
                        try s.forEachElement("response.body.choices") { (index, s) throws(RecordError) in
                            guard index == 0, !s.consumeNull() else { try s.skipValue(depth: 4); return }
                            try s.forEachNestedMember("response.body.choices") { (key, s) throws(RecordError) in
                                if keyEquals(key, "finish_reason") { finishReason = try s.optionalString("response.body.choices.finish_reason") } else { try s.skipValue() }
                            }
                        }
                        return
                    }
                    try s.skipValue()
                }
            }
        }
        if sawInputShape, !sawBody, statusCode == nil {
            throw RecordError("an OpenAI Batch input line (custom_id, method, url, body): it has no time or usage; "
                              + "scan the batch's output file, with this one as --openai-batch-input")
        }
        guard let created else {
            if let errorCode {
                throw RecordError(field: "error", "the request failed (\(errorCode)) and has no time: OpenAI Batch gives one only in a response body's created")
            }
            throw RecordError(field: "response.body.created", "missing: an OpenAI Batch output line's time is its response body's created (epoch seconds)")
        }
        guard let accountID else {
            throw RecordError(field: "account_id", "OpenAI Batch files name no account: give --openai-batch-account")
        }
        func record(joined request: OpenAIBatchRequest?) -> GatewayRecord {
            var r = GatewayRecord()
            r.key("time")
            r.raw(String(created))
            r.string("account_id", accountID)
            r.string("request_id", requestID ?? id)
            r.string("batch_id", batchID)
            r.string("model", model)
            r.int("status", statusCode)
            r.int("input_tokens", inputTokens)
            r.int("output_tokens", outputTokens)
            r.int("reasoning_tokens", reasoningTokens)
            r.string("finish_reason", finishReason)
            r.string("operation", "chat")
            if let request { r.chatRequest(request.body) }
            return r
        }
        guard let customID, let request = requests[customID] else {
            var r = record(joined: nil)
            return try r.decode(with: decoder)
        }
        var joined = record(joined: request)
        do throws(RecordError) {
            return try joined.decode(with: decoder)
        } catch {
            // Blame the input file when the output line alone is fine.
            var alone = record(joined: nil)
            guard (try? alone.decode(with: decoder)) != nil else { throw error }
            throw RecordError(field: error.field, "in --openai-batch-input's request \"\(customID)\": \(error.reason)")
        }
    }

    /// Reads an input file's lines into requests by `custom_id`.
    /// - Throws: ``RecordError`` for a line that is not an input object.
    public static func request(_ line: UnsafeBufferPointer<UInt8>) throws(RecordError) -> (String, OpenAIBatchRequest) {
        var s = JSONScanner(line)
        var customID: String?
        var body = ChatRequest()
        try s.forEachMember { (key, s) throws(RecordError) in
            if keyEquals(key, "custom_id") { customID = try s.optionalIdentifier("custom_id"); return }
            if keyEquals(key, "body") { body = try ChatRequest.read(&s, field: "body"); return }
            try s.skipValue()
        }
        guard let customID else { throw RecordError(field: "custom_id", "missing: not an OpenAI Batch input line") }
        return (customID, OpenAIBatchRequest(body: body))
    }
}

/// One request of a batch's input file, as far as DistillWatch reads it.
public struct OpenAIBatchRequest: Sendable {
    var body: ChatRequest
}

extension ChatRequest: @unchecked Sendable {}
