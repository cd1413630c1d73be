import DistillWatchCore

/// A traffic format v1 record built from a gateway's own fields, then read by
/// ``ExchangeLineDecoder``: every gateway format meets the v1 rules (limits, time units,
/// sketching) in one place. Members are written in order; a member is written once.
struct GatewayRecord {
    var out: [UInt8] = [UInt8(ascii: "{")]
    /// The names written (a record has a few dozen at most: a linear search beats hashing).
    private var written: [String] = []

    /// Whether `name` was written.
    func has(_ name: String) -> Bool { written.contains(name) }

    /// Starts member `name`; its value must follow.
    mutating func key(_ name: String) {
        if out.count > 1 { out.append(UInt8(ascii: ",")) }
        written.append(name)
        JSONLineEncoder.appendString(name, to: &out)
        out.append(UInt8(ascii: ":"))
    }

    /// Appends `text` as it is (a number, or JSON the caller made).
    mutating func raw(_ text: String) { out.append(contentsOf: text.utf8) }

    mutating func string(_ name: String, _ value: String?) {
        guard let value, !has(name) else { return }
        key(name)
        JSONLineEncoder.appendString(value, to: &out)
    }

    mutating func int(_ name: String, _ value: Int?) {
        guard let value, !has(name) else { return }
        key(name)
        raw(String(value))
    }

    mutating func double(_ name: String, _ value: Double?) {
        guard let value, value.isFinite, !has(name) else { return }
        key(name)
        raw("\(value)")
    }

    mutating func bool(_ name: String, _ value: Bool?) {
        guard let value, !has(name) else { return }
        key(name)
        raw(value ? "true" : "false")
    }

    /// The request fields of a chat request body (OpenAI or Anthropic) as v1 fields: model,
    /// max_tokens, temperature, stream, tool_count, message_count, prompt (the last user
    /// message), system, prefill, end_user_id, reasoning_effort.
    mutating func chatRequest(_ r: ChatRequest) {
        string("model", r.model)
        int("max_tokens", r.maxTokens)
        double("temperature", r.temperature)
        bool("stream", r.stream)
        int("tool_count", r.toolCount)
        int("message_count", r.messages?.count)
        string("prompt", r.messages?.lastUserText)
        string("system", r.system)
        if let m = r.messages, m.count > 0 { bool("prefill", m.endsWithAssistant) }
        string("end_user_id", r.user)
        string("reasoning_effort", r.reasoningEffort)
    }

    /// The record, closed, read by `decoder`.
    mutating func decode(with decoder: ExchangeLineDecoder) throws(RecordError) -> Exchange {
        out.append(UInt8(ascii: "}"))
        defer { out.removeLast() }
        return try out.withUnsafeBufferPointer { bytes throws(RecordError) in try decoder.decode(bytes) }
    }
}

/// What a chat request body (OpenAI chat completions, Anthropic messages) says about the
/// exchange, read in one pass; text is kept only for the last user message and the system.
struct ChatRequest {
    var model: String?
    var maxTokens: Int?
    var temperature: Double?
    var stream: Bool?
    var toolCount: Int?
    var messages: ChatMessages?
    var system: String?
    var user: String?
    var reasoningEffort: String?

    /// Reads the object at the scanner's position: OpenAI chat completions and Responses
    /// (`input` as a list of messages), Anthropic messages.
    /// - Parameter keepText: keep the last user message and the system text (to sketch them).
    /// - Throws: ``RecordError`` naming `field` and the member for a value of the wrong type.
    static func read(_ s: inout JSONScanner, field: String, keepText: Bool = true) throws(RecordError) -> ChatRequest {
        var r = ChatRequest()
        var maxCompletionTokens: Int?
        if s.consumeNull() { return r }
        try s.forEachNestedMember(field) { (key, s) throws(RecordError) in
            if keyEquals(key, "model") { r.model = try s.optionalString("model"); return }
            if keyEquals(key, "max_tokens") { r.maxTokens = try s.optionalInt("max_tokens"); return }
            if keyEquals(key, "max_completion_tokens") { maxCompletionTokens = try s.optionalInt("max_completion_tokens"); return }
            if keyEquals(key, "temperature") { r.temperature = try s.optionalDouble("temperature"); return }
            if keyEquals(key, "stream") { r.stream = try s.optionalBool("stream"); return }
            if keyEquals(key, "user") { r.user = try s.optionalIdentifier("\(field).user"); return }
            if keyEquals(key, "reasoning_effort") { r.reasoningEffort = try s.optionalString("reasoning_effort"); return }
            if keyEquals(key, "tools") {
                var n = 0
                try s.forEachElement("\(field).tools") { (_, s) throws(RecordError) in n += 1; try s.skipValue(depth: 2) }
                r.toolCount = n
                return
            }
            if keyEquals(key, "messages") || keyEquals(key, "input") && s.peek() == UInt8(ascii: "[") {
                let m = try ChatMessages.read(&s, field: "\(field).messages", keepText: keepText)
                r.messages = m
                if let text = m.systemText { r.system = r.system.map { $0 + "\n" + text } ?? text }
                return
            }
            if keyEquals(key, "system") {
                let (text, _) = try ChatMessages.readContent(&s, field: "\(field).system", keepText: keepText)
                if let text { r.system = r.system.map { text + "\n" + $0 } ?? text }
                return
            }
            try s.skipValue()
        }
        if r.maxTokens == nil { r.maxTokens = maxCompletionTokens }
        return r
    }
}
