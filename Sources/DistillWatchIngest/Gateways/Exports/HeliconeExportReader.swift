import DistillWatchCore

/// Helicone request exports (its dashboard's JSONL export and the `@helicone/export` CLI,
/// which page through `POST /v1/request/query-clickhouse`), read as exchanges.
///
/// | exchange field | Helicone field |
/// |---|---|
/// | `time` | `request_created_at` (RFC 3339, UTC) |
/// | `account_id` | `request_user_id` (the `Helicone-User-Id` header), else `helicone_user` (the Helicone member whose key sent it) |
/// | `request_id` | `request_id` |
/// | `model` | `request_model`, else `response_model`, else `model` |
/// | `input_tokens`, `output_tokens`, `reasoning_tokens` | `prompt_tokens`, `completion_tokens`, `reasoning_tokens` |
/// | `latency_ms` | `delay_ms` (ms) |
/// | `status` | `response_status` |
/// | `cost_usd` | `cost` (USD) |
/// | `country` | `country_code` |
/// | request fields | `request_body` (max_tokens, temperature, messages, tools, …), when exported |
///
/// Source: Helicone's `request_response_rmt` table and its request query API
/// (Helicone/helicone, `valhalla/jawn`).
public struct HeliconeExportReader: Sendable {
    public var decoder: ExchangeLineDecoder

    public init(decoder: ExchangeLineDecoder) { self.decoder = decoder }

    /// - Throws: ``RecordError`` naming the field.
    public func decode(_ line: UnsafeBufferPointer<UInt8>) throws(RecordError) -> Exchange {
        var s = JSONScanner(line)
        var r = GatewayRecord()
        var time: Timestamp?
        var userID: String?
        var heliconeUser: String?
        var requestModel: String?
        var responseModel: String?
        var model: String?
        var body: ChatRequest?
        var finishReason: String?
        try s.forEachMember { (key, s) throws(RecordError) in
            if keyEquals(key, "request_created_at") { time = try s.optionalTime("request_created_at"); return }
            if keyEquals(key, "request_user_id") { userID = try s.optionalIdentifier("request_user_id"); return }
            if keyEquals(key, "helicone_user") { heliconeUser = try s.optionalIdentifier("helicone_user"); return }
            if keyEquals(key, "request_id") { r.string("request_id", try s.optionalString("request_id")); return }
            if keyEquals(key, "request_model") { requestModel = try s.optionalString("request_model"); return }
            if keyEquals(key, "response_model") { responseModel = try s.optionalString("response_model"); return }
            if keyEquals(key, "model") { model = try s.optionalString("model"); return }
            if keyEquals(key, "prompt_tokens") { r.int("input_tokens", try s.optionalInt("prompt_tokens")); return }
            if keyEquals(key, "completion_tokens") { r.int("output_tokens", try s.optionalInt("completion_tokens")); return }
            if keyEquals(key, "reasoning_tokens") { r.int("reasoning_tokens", try s.optionalInt("reasoning_tokens")); return }
            if keyEquals(key, "delay_ms") { r.double("latency_ms", try s.optionalDouble("delay_ms")); return }
            if keyEquals(key, "response_status") { r.int("status", try s.optionalInt("response_status")); return }
            if keyEquals(key, "cost") { r.double("cost_usd", try s.optionalDouble("cost")); return }
            if keyEquals(key, "country_code") { r.string("country", try s.optionalString("country_code")); return }
            if keyEquals(key, "request_body"), s.peek() == UInt8(ascii: "{") { body = try ChatRequest.read(&s, field: "request_body"); return }
            if keyEquals(key, "request_body"), s.peek() == UInt8(ascii: "\"") {
                // Helicone's ClickHouse table keeps the body as JSON text in a String column.
                body = try Self.embeddedJSON(try s.readString(), field: "request_body") { (s) throws(RecordError) in
                    try ChatRequest.read(&s, field: "request_body")
                }
                return
            }
            if keyEquals(key, "response_body"), s.peek() == UInt8(ascii: "{") {
                finishReason = try Self.finishReason(&s)
                return
            }
            if keyEquals(key, "response_body"), s.peek() == UInt8(ascii: "\"") {
                finishReason = try Self.embeddedJSON(try s.readString(), field: "response_body") { (s) throws(RecordError) in
                    try Self.finishReason(&s)
                } ?? nil
                return
            }
            try s.skipValue()
        }
        guard let time else { throw RecordError(field: "request_created_at", "missing: a Helicone request's time") }
        guard let account = userID ?? heliconeUser else {
            throw RecordError(field: "request_user_id", "missing, and no helicone_user: the export names no account (set Helicone-User-Id)")
        }
        r.key("time")
        r.raw(String(time.millisecondsSinceEpoch))
        r.string("account_id", account)
        r.string("model", requestModel ?? responseModel ?? model)
        r.string("finish_reason", finishReason)
        r.string("operation", "chat")
        if let body { r.chatRequest(body) }
        return try r.decode(with: decoder)
    }

    /// The first choice's `finish_reason` of a response body object.
    static func finishReason(_ s: inout JSONScanner) throws(RecordError) -> String? {
        var finishReason: String?
        try s.forEachNestedMember("response_body") { (key, s) throws(RecordError) in
            guard keyEquals(key, "choices") else { try s.skipValue(); return }
            try s.forEachElement("response_body.choices") { (index, s) throws(RecordError) in
                guard index == 0, !s.consumeNull() else { try s.skipValue(depth: 4); return }
                try s.forEachNestedMember("response_body.choices") { (key, s) throws(RecordError) in
                    if keyEquals(key, "finish_reason") { finishReason = try s.optionalString("response_body.choices.finish_reason") } else { try s.skipValue() }
                }
            }
        }
        return finishReason
    }

    /// Reads a body kept as JSON text: an empty string (a body not logged, or dropped by the
    /// table's TTL) is no body; anything else must be a JSON object.
    static func embeddedJSON<T>(_ text: String, field: String,
                                _ read: (inout JSONScanner) throws(RecordError) -> T) throws(RecordError) -> T? {
        var text = text
        var result: Result<T?, RecordError> = .success(nil)
        text.withUTF8 { bytes in
            result = Result { () throws(RecordError) -> T? in
                var s = JSONScanner(bytes)
                s.skipWhitespace()
                guard let first = s.peek() else { return nil }
                guard first == UInt8(ascii: "{") else {
                    throw RecordError(field: field, "holds text that is not a JSON object (Helicone keeps the body as JSON text)")
                }
                return try read(&s)
            }
        }
        return try result.get()
    }
}
