import DistillWatchCore

/// Langfuse observation exports (the Observations table's JSONL batch export, and the rows
/// of its public API, `GET /api/public/v2/observations` and the older
/// `/api/public/observations`), read as exchanges: each `GENERATION` is one; spans, events,
/// tools and the other observation types are skipped.
///
/// | exchange field | Langfuse field |
/// |---|---|
/// | `time` | `startTime` (RFC 3339, UTC) |
/// | `account_id` | `userId` (the trace's user, which the export and the v2 API join in) |
/// | `request_id` | `id` |
/// | `model` | `model`, else `providedModelName` |
/// | `latency_ms` | `endTime − startTime`, else `latency` (seconds) × 1000 |
/// | `input_tokens`, `output_tokens` | the sums of `usageDetails` keys containing `input` / `output` (as Langfuse sums them), else `inputUsage` / `outputUsage`, else `promptTokens` / `completionTokens` |
/// | `cost_usd` | `totalCost`, else `costDetails.total` |
/// | `max_tokens`, `temperature`, `stream` | `modelParameters` (numbers or their text) |
/// | `prompt`, `message_count`, `system` | `input`: a list of chat messages or `{"messages": [...]}`, or that as JSON text (the v2 API's raw strings), or a plain string prompt |
///
/// Source: langfuse/langfuse, `packages/shared/src/server/repositories/observations_converters.ts`
/// and the public API definition (`fern/apis/server/definition/commons.yml`).
public struct LangfuseExportReader: Sendable {
    public var decoder: ExchangeLineDecoder

    public init(decoder: ExchangeLineDecoder) { self.decoder = decoder }

    /// The generation on `line`, or `nil` for another observation type.
    /// - Throws: ``RecordError`` naming the field.
    public func decode(_ line: UnsafeBufferPointer<UInt8>) throws(RecordError) -> Exchange? {
        var s = JSONScanner(line)
        var type: String?
        var start: Timestamp?
        var end: Timestamp?
        var latencySeconds: Double?
        var userID: String?
        var id: String?
        var model: String?
        var providedModel: String?
        var usageInput: Int?
        var usageOutput: Int?
        var inputUsage: Int?
        var outputUsage: Int?
        var promptTokens: Int?
        var completionTokens: Int?
        var totalCost: Double?
        var costTotal: Double?
        var parameters = ChatRequest()
        var input: ChatRequest?
        var inputText: String?
        try s.forEachMember { (key, s) throws(RecordError) in
            if keyEquals(key, "type") { type = try s.optionalString("type"); return }
            if keyEquals(key, "startTime") { start = try s.optionalTime("startTime"); return }
            if keyEquals(key, "endTime") { end = try s.optionalTime("endTime"); return }
            if keyEquals(key, "latency") { latencySeconds = try s.optionalDouble("latency"); return }
            if keyEquals(key, "userId") { userID = try s.optionalIdentifier("userId"); return }
            if keyEquals(key, "id") { id = try s.optionalString("id"); return }
            if keyEquals(key, "model") { model = try s.optionalString("model"); return }
            if keyEquals(key, "providedModelName") { providedModel = try s.optionalString("providedModelName"); return }
            if keyEquals(key, "inputUsage") { inputUsage = try s.optionalInt("inputUsage"); return }
            if keyEquals(key, "outputUsage") { outputUsage = try s.optionalInt("outputUsage"); return }
            if keyEquals(key, "promptTokens") { promptTokens = try s.optionalInt("promptTokens"); return }
            if keyEquals(key, "completionTokens") { completionTokens = try s.optionalInt("completionTokens"); return }
            if keyEquals(key, "totalCost") { totalCost = try s.optionalDouble("totalCost"); return }
            if keyEquals(key, "usageDetails") {
                if s.consumeNull() { return }
                try s.forEachNestedMember("usageDetails") { (key, s) throws(RecordError) in
                    let name = String(decoding: key, as: UTF8.self)
                    guard let n = try s.optionalInt("usageDetails") else { return }
                    guard n >= 0 else { throw RecordError(field: "usageDetails.\(name)", "\(n) is negative: a token count") }
                    if name.contains("input") { usageInput = try Self.tokenSum(usageInput, n, "usageDetails.\(name)") }
                    if name.contains("output") { usageOutput = try Self.tokenSum(usageOutput, n, "usageDetails.\(name)") }
                }
                return
            }
            if keyEquals(key, "costDetails") {
                if s.consumeNull() { return }
                try s.forEachNestedMember("costDetails") { (key, s) throws(RecordError) in
                    if keyEquals(key, "total") { costTotal = try s.optionalDouble("costDetails.total") } else { try s.skipValue() }
                }
                return
            }
            if keyEquals(key, "modelParameters") {
                if s.consumeNull() { return }
                if s.peek() == 0x22 { try s.skipString(); return }  // unparsable parameters, kept as text by Langfuse
                try s.forEachNestedMember("modelParameters") { (key, s) throws(RecordError) in
                    if keyEquals(key, "max_tokens") || keyEquals(key, "max_completion_tokens") || keyEquals(key, "maxTokens") {
                        parameters.maxTokens = try Self.lenientInteger(&s, "modelParameters.max_tokens")
                    } else if keyEquals(key, "temperature") {
                        parameters.temperature = try Self.lenientNumber(&s, "modelParameters.temperature")
                    } else if keyEquals(key, "stream") {
                        if s.peek() == 0x22 { parameters.stream = (try s.readString()) == "true" } else { parameters.stream = try s.optionalBool("modelParameters.stream") }
                    } else {
                        try s.skipValue()
                    }
                }
                return
            }
            if keyEquals(key, "input") {
                if s.consumeNull() { return }
                if s.peek() == 0x22 {
                    let text = try s.readString()
                    input = Self.chat(fromText: text)
                    if input == nil { inputText = text }
                } else if s.peek() == UInt8(ascii: "[") {
                    var r = ChatRequest()
                    r.messages = try ChatMessages.read(&s, field: "input", keepText: true)
                    r.system = r.messages?.systemText
                    input = r
                } else {
                    input = try ChatRequest.read(&s, field: "input")
                }
                return
            }
            try s.skipValue()
        }
        guard type == nil || type == "GENERATION" else { return nil }
        guard let start else { throw RecordError(field: "startTime", "missing: a Langfuse observation's time") }
        guard let userID else {
            throw RecordError(field: "userId", "missing: the generation's trace has no user id (Langfuse's trace userId names the account)")
        }
        var r = GatewayRecord()
        r.key("time")
        r.raw(String(start.millisecondsSinceEpoch))
        r.string("account_id", userID)
        r.string("request_id", id)
        r.string("model", model ?? providedModel ?? input?.model)
        if let end, end.millisecondsSinceEpoch >= start.millisecondsSinceEpoch {
            r.double("latency_ms", Double(end.millisecondsSinceEpoch - start.millisecondsSinceEpoch))
        } else if let latencySeconds {
            r.double("latency_ms", latencySeconds * 1000)
        }
        r.int("input_tokens", usageInput ?? inputUsage ?? promptTokens)
        r.int("output_tokens", usageOutput ?? outputUsage ?? completionTokens)
        r.double("cost_usd", totalCost ?? costTotal)
        r.string("operation", "chat")
        r.chatRequest(parameters)
        if let input { r.chatRequest(input) }
        if let inputText {
            r.int("message_count", 1)
            r.string("prompt", inputText)
        }
        return try r.decode(with: decoder)
    }

    /// A number, or its decimal text (Langfuse keeps model parameters as given).
    /// `sum + part` for the `usageDetails` sums, which Langfuse adds over every key naming
    /// input or output.
    /// - Throws: ``RecordError`` naming the key whose part takes the sum beyond 64 bits.
    static func tokenSum(_ sum: Int?, _ part: Int, _ field: String) throws(RecordError) -> Int {
        let (total, overflow) = (sum ?? 0).addingReportingOverflow(part)
        guard !overflow else { throw RecordError(field: field, "the token counts add up to more than 64 bits hold") }
        return total
    }

    /// An integer, or its text (Langfuse keeps model parameters as the client sent them).
    /// - Throws: ``RecordError`` naming `field` for a fraction, text that is not a number, or
    ///   an integer beyond 64 bits; never traps (`1e300` is refused, not converted).
    static func lenientInteger(_ s: inout JSONScanner, _ field: StaticString) throws(RecordError) -> Int? {
        let written: String
        let value: Double
        if s.peek() == 0x22 {
            written = "\"" + (try s.readString()) + "\""
            let text = String(written.dropFirst().dropLast())
            if let integer = Int(text) { return integer }
            guard let number = Double(text), number.isFinite else { throw RecordError(field: "\(field)", "\(written) is not a number") }
            value = number
        } else {
            guard let number = try s.optionalDouble(field) else { return nil }
            written = "\(number)"
            value = number
        }
        guard value == value.rounded(.towardZero) else { throw RecordError(field: "\(field)", "\(written) should be an integer, not a fraction") }
        guard let integer = Int(exactly: value) else { throw RecordError(field: "\(field)", "\(written): integer out of range (beyond 64 bits)") }
        return integer
    }

    static func lenientNumber(_ s: inout JSONScanner, _ field: StaticString) throws(RecordError) -> Double? {
        guard s.peek() == 0x22 else { return try s.optionalDouble(field) }
        let text = try s.readString()
        guard let value = Double(text), value.isFinite else { throw RecordError(field: "\(field)", "\"\(text)\" is not a number") }
        return value
    }

    /// Chat messages held as JSON text (the v2 API's raw `input`), or `nil` for plain text.
    static func chat(fromText text: String) -> ChatRequest? {
        guard let first = text.utf8.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x09 && $0 != 0x0D }),
              first == UInt8(ascii: "[") || first == UInt8(ascii: "{") else { return nil }
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { b -> ChatRequest? in
            var s = JSONScanner(UnsafeBufferPointer(b))
            s.skipWhitespace()
            do throws(RecordError) {
                if first == UInt8(ascii: "[") {
                    var r = ChatRequest()
                    r.messages = try ChatMessages.read(&s, field: "input", keepText: true)
                    r.system = r.messages?.systemText
                    return r
                }
                return try ChatRequest.read(&s, field: "input")
            } catch {
                return nil
            }
        }
    }
}
