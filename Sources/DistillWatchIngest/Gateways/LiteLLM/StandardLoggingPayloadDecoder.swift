import DistillWatchCore

/// Decodes one LiteLLM `StandardLoggingPayload` (the object LiteLLM's logging callbacks
/// send: `generic_api`, and the s3/gcs loggers' files; litellm/types/utils.py in
/// LiteLLM 1.106.2) into an exchange record of traffic format v1.
///
/// | LiteLLM | exchange |
/// |---|---|
/// | `startTime` (epoch seconds, fractional) | `time` |
/// | `endTime − startTime` | `latency_ms` |
/// | identity (``LiteLLMIdentity``): `metadata.user_api_key_org_id`, `_team_id`, `_user_id`, `_alias`, `_hash`, `end_user` | `account_id` |
/// | `metadata.user_api_key_hash` (unless a placeholder) | `api_key_id` |
/// | `litellm_call_id` (else `id`) | `request_id` (the guardrail's de-duplication key) |
/// | `model_group` (the name the client asked for), else `model` | `model` |
/// | `call_type` (`acompletion`, `aembedding`, …) | `operation` (`chat`, `embeddings`, `text_completion`, …) |
/// | `prompt_tokens`, `completion_tokens`, `response.usage.completion_tokens_details.reasoning_tokens` | `input_tokens`, `output_tokens`, `reasoning_tokens` |
/// | `model_parameters`: `temperature`, `max_tokens`/`max_completion_tokens`, `stream`, `thinking`, `reasoning_effort`, `tools` | same fields, `tool_count` |
/// | `stream` | `stream` |
/// | `status` (`success`/`failure`) and `error_information.error_code` | `status` (200; the error code when it is an HTTP status, else 500) |
/// | `requester_ip_address`, `user_agent` (top level, else `metadata`) | `client_ip`, `user_agent` |
/// | `end_user` (else `metadata.user_api_key_end_user_id`, `model_parameters.user`) | `end_user_id` |
/// | `messages` | `message_count`, `prompt` (last user message), `system`, `prefill` |
/// | `response.choices[0]` | `finish_reason`, `response` |
/// | `response_cost` | `cost_usd` |
///
/// A payload that already carries v1's `time` or `account_id` (a pipeline that enriched
/// it) keeps them: they override the mapping.
///
/// Text (`messages`, the answer) is sketched when a sketcher is set and kept only when
/// ``captureText`` is on, as for v1 lines. The validation layer (``RecordLimits``) applies.
///
/// - Complexity: O(n) in the payload's bytes; only the mapped fields are materialised.
public struct StandardLoggingPayloadDecoder: Sendable {
    public var identity: LiteLLMIdentity
    public var captureText: Bool
    public var sketcher: ContentSketcher?
    public var validatesLimits: Bool

    public init(identity: LiteLLMIdentity = LiteLLMIdentity(), captureText: Bool = false,
                sketcher: ContentSketcher? = nil, validatesLimits: Bool = true) {
        self.identity = identity
        self.captureText = captureText
        self.sketcher = sketcher
        self.validatesLimits = validatesLimits
    }

    /// Decodes the payload object in `bytes`.
    /// - Throws: ``RecordError`` naming the field: wrong types, no `startTime`, no account
    ///   (every identity field absent or a placeholder), a value outside ``RecordLimits``.
    public func decode(_ bytes: UnsafeBufferPointer<UInt8>) throws(RecordError) -> Exchange {
        var s = JSONScanner(bytes)
        return try decode(&s, topLevel: true)
    }

    /// Decodes the payload object at the scanner's position (an element of a batch).
    func decode(_ s: inout JSONScanner, topLevel: Bool) throws(RecordError) -> Exchange {
        var e = Exchange(time: Timestamp(millisecondsSinceEpoch: 0), accountID: "")
        var explicitTime: Timestamp?
        var explicitAccount: String?
        var start: JSONScanner.Number?
        var end: JSONScanner.Number?
        var ids = LiteLLMIdentity.Values()
        var topEndUser: String?
        var metaEndUser: String?
        var paramUser: String?
        var callID: String?
        var responseID: String?
        var model: String?
        var modelGroup: String?
        var statusText: String?
        var statusCode: Int?
        var errorCode: String?
        var callType: String?
        var messages: ChatMessages?
        var metaIP: String?
        var metaUserAgent: String?
        var responseText: String?
        let keepText = captureText || sketcher != nil

        let member: (UnsafeBufferPointer<UInt8>, inout JSONScanner) throws(RecordError) -> Void = { key, s throws(RecordError) in
            switch key.count {
            case 2:
                if keyEquals(key, "id") { responseID = try s.optionalIdentifier("id"); return }
            case 4:
                if keyEquals(key, "time") { explicitTime = try s.optionalTime("time"); return }
            case 5:
                if keyEquals(key, "model") { model = try s.optionalString("model"); return }
            case 6:
                if keyEquals(key, "status") {
                    if s.peek() == 0x22 { statusText = try s.readString() } else { statusCode = try s.optionalInt("status") }
                    return
                }
                if keyEquals(key, "stream") { e.stream = try s.optionalBool("stream") ?? e.stream; return }
            case 7:
                if keyEquals(key, "endTime") { end = try Self.number(&s, "endTime"); return }
            case 8:
                if keyEquals(key, "end_user") { topEndUser = try s.optionalIdentifier("end_user"); return }
                if keyEquals(key, "messages") {
                    messages = try ChatMessages.read(&s, field: "messages", keepText: keepText)
                    return
                }
                if keyEquals(key, "metadata") {
                    try s.forEachNestedMember("metadata") { (key, s) throws(RecordError) in
                        switch key.count {
                        case 10 where keyEquals(key, "user_agent"): metaUserAgent = try s.optionalIdentifier("metadata.user_agent")
                        case 17 where keyEquals(key, "user_api_key_hash"): ids.keyHash = try s.optionalIdentifier("metadata.user_api_key_hash")
                        case 18 where keyEquals(key, "user_api_key_alias"): ids.keyAlias = try s.optionalIdentifier("metadata.user_api_key_alias")
                        case 19 where keyEquals(key, "user_api_key_org_id"): ids.orgID = try s.optionalIdentifier("metadata.user_api_key_org_id")
                        case 20 where keyEquals(key, "user_api_key_team_id"): ids.teamID = try s.optionalIdentifier("metadata.user_api_key_team_id")
                        case 20 where keyEquals(key, "user_api_key_user_id"): ids.userID = try s.optionalIdentifier("metadata.user_api_key_user_id")
                        case 20 where keyEquals(key, "requester_ip_address"): metaIP = try s.optionalIdentifier("metadata.requester_ip_address")
                        case 24 where keyEquals(key, "user_api_key_end_user_id"): metaEndUser = try s.optionalIdentifier("metadata.user_api_key_end_user_id")
                        default: try s.skipValue(depth: 2)
                        }
                    }
                    return
                }
                if keyEquals(key, "response") {
                    responseText = try Self.readResponse(&s, into: &e, keepText: captureText)
                    return
                }
            case 9:
                if keyEquals(key, "startTime") { start = try Self.number(&s, "startTime"); return }
                if keyEquals(key, "call_type") { callType = try s.optionalString("call_type"); return }
            case 10:
                if keyEquals(key, "account_id") { explicitAccount = try s.optionalString("account_id"); return }
                if keyEquals(key, "user_agent") { e.userAgent = try s.optionalIdentifier("user_agent"); return }
            case 11:
                if keyEquals(key, "model_group") { modelGroup = try s.optionalString("model_group"); return }
            case 13:
                if keyEquals(key, "prompt_tokens") { e.inputTokens = try s.optionalInt("prompt_tokens"); return }
                if keyEquals(key, "response_cost") { e.costUSD = try s.optionalDouble("response_cost"); return }
            case 15:
                if keyEquals(key, "litellm_call_id") { callID = try s.optionalIdentifier("litellm_call_id"); return }
            case 16:
                if keyEquals(key, "model_parameters") {
                    paramUser = try Self.readModelParameters(&s, into: &e)
                    return
                }
            case 17:
                if keyEquals(key, "completion_tokens") { e.outputTokens = try s.optionalInt("completion_tokens"); return }
                if keyEquals(key, "error_information") {
                    try s.forEachNestedMember("error_information") { (key, s) throws(RecordError) in
                        if keyEquals(key, "error_code") {
                            if s.peek() == 0x22 { errorCode = try s.readString() } else if let n = try s.optionalInt("error_information.error_code") { errorCode = String(n) }
                        } else {
                            try s.skipValue(depth: 2)
                        }
                    }
                    return
                }
            case 20:
                if keyEquals(key, "requester_ip_address") { e.clientIP = try s.optionalIdentifier("requester_ip_address"); return }
            default:
                break
            }
            try s.skipValue(depth: 1)
        }
        if topLevel { try s.forEachMember(member) } else { try s.forEachNestedMember("payload", member) }

        // Time: the pipeline's own `time`, else `startTime`.
        if let explicitTime {
            e.time = explicitTime
        } else if let start {
            guard let t = EpochUnit.timestamp(start) else { throw RecordError(field: "startTime", EpochUnit.outOfRange(start)) }
            e.time = t
        } else {
            throw RecordError(field: "startTime", "missing: a LiteLLM logging payload needs startTime (or a v1 time)")
        }
        // In the unit the start's magnitude gives it, as the time is read (seconds as LiteLLM
        // writes them; milliseconds and finer from other pipelines lost the latency).
        if let start, let end, let elapsed = EpochUnit.elapsedMilliseconds(from: start, to: end) {
            e.latencyMilliseconds = elapsed
        }

        // Identity.
        ids.endUserID = [topEndUser, metaEndUser, paramUser].first { identity.isIdentity($0) } ?? nil
        e.endUserID = ids.endUserID
        if let explicitAccount {
            e.accountID = explicitAccount
        } else if let (id, _) = identity.account(ids) {
            e.accountID = id
        } else {
            throw RecordError(field: "metadata", identity.whyNoAccount(ids))
        }
        if identity.isIdentity(ids.keyHash) { e.apiKeyID = ids.keyHash }

        e.requestID = callID ?? responseID
        e.model = modelGroup ?? model
        e.operation = callType.map(Self.operation)
        if e.clientIP == nil { e.clientIP = metaIP }
        if e.userAgent == nil { e.userAgent = metaUserAgent }
        e.status = Self.status(text: statusText, code: statusCode, errorCode: errorCode)

        if let messages {
            e.messageCount = messages.count
            if messages.count > 0 { e.prefill = messages.endsWithAssistant }
            if let sketcher, let prompt = messages.lastUserText {
                // Tool definitions make it agentic whatever the words say (``ContentSketcher/features(prompt:system:toolCount:)``).
                e.content = sketcher.features(prompt: prompt, system: messages.systemText, toolCount: e.toolCount)
            }
            if captureText {
                e.prompt = messages.lastUserText
                e.system = messages.systemText
                e.response = responseText
            } else {
                // Presence without text, as the v1 reader records it.
                if messages.sawUserText { e.prompt = "" }
                if messages.systemText != nil { e.system = "" }
            }
        }
        if validatesLimits, var problem = e.checkLimits() {
            problem.field = Self.payloadField[problem.field] ?? problem.field
            throw RecordError(problem)
        }
        return e
    }

    /// The payload's name for each exchange field, so that errors name what the sender wrote.
    static let payloadField: [String: String] = [
        "time": "startTime", "latency_ms": "endTime", "account_id": "metadata", "request_id": "litellm_call_id",
        "api_key_id": "metadata.user_api_key_hash", "model": "model_group", "operation": "call_type",
        "input_tokens": "prompt_tokens", "output_tokens": "completion_tokens",
        "reasoning_tokens": "response.usage.completion_tokens_details.reasoning_tokens",
        "max_tokens": "model_parameters.max_tokens", "temperature": "model_parameters.temperature",
        "tool_count": "model_parameters.tools", "message_count": "messages", "finish_reason": "response.choices.finish_reason",
        "client_ip": "requester_ip_address", "end_user_id": "end_user", "reasoning_effort": "model_parameters.reasoning_effort",
        "cost_usd": "response_cost",
    ]

    // MARK: Parts

    /// `model_parameters`: the request's sampling and output settings. Returns `user`.
    private static func readModelParameters(_ s: inout JSONScanner, into e: inout Exchange) throws(RecordError) -> String? {
        var user: String?
        try s.forEachNestedMember("model_parameters") { (key, s) throws(RecordError) in
            switch key.count {
            case 4 where keyEquals(key, "user"): user = try s.optionalIdentifier("model_parameters.user")
            case 5 where keyEquals(key, "tools"):
                var n = 0
                try s.forEachElement("model_parameters.tools") { (_, s) throws(RecordError) in n += 1; try s.skipValue(depth: 3) }
                e.toolCount = n
            case 6 where keyEquals(key, "stream"): e.stream = try s.optionalBool("model_parameters.stream") ?? e.stream
            case 8 where keyEquals(key, "thinking"): e.thinking = try s.optionalThinking()
            case 10 where keyEquals(key, "max_tokens"): e.maxTokens = try s.optionalInt("model_parameters.max_tokens") ?? e.maxTokens
            case 11 where keyEquals(key, "temperature"): e.temperature = try s.optionalDouble("model_parameters.temperature")
            case 16 where keyEquals(key, "reasoning_effort"): e.reasoningEffort = try s.optionalIdentifier("model_parameters.reasoning_effort")
            case 21 where keyEquals(key, "max_completion_tokens"):
                e.maxTokens = try s.optionalInt("model_parameters.max_completion_tokens") ?? e.maxTokens
            default: try s.skipValue(depth: 2)
            }
        }
        return user
    }

    /// `response`: the answer's finish reason, reasoning tokens, and text (when kept).
    private static func readResponse(_ s: inout JSONScanner, into e: inout Exchange, keepText: Bool) throws(RecordError) -> String? {
        // Some callbacks log the response as a string (a text completion or an error).
        if s.peek() == 0x22 {
            if keepText { return try s.readString() }
            try s.skipString()
            return nil
        }
        if s.peek() != UInt8(ascii: "{") { try s.skipValue(depth: 1); return nil }
        var text: String?
        try s.forEachNestedMember("response") { (key, s) throws(RecordError) in
            if keyEquals(key, "choices") {
                try s.forEachElement("response.choices") { (index, s) throws(RecordError) in
                    guard index == 0 else { try s.skipValue(depth: 3); return }
                    try s.forEachNestedMember("response.choices", depth: 3) { (key, s) throws(RecordError) in
                        if keyEquals(key, "finish_reason") {
                            e.finishReason = try s.optionalIdentifier("response.choices.finish_reason")
                        } else if keyEquals(key, "message") || keyEquals(key, "delta") {
                            try s.forEachNestedMember("response.choices.message", depth: 4) { (key, s) throws(RecordError) in
                                if keyEquals(key, "content"), keepText, s.peek() == 0x22 { text = try s.readString() } else { try s.skipValue(depth: 5) }
                            }
                        } else if keyEquals(key, "text"), keepText, s.peek() == 0x22 {
                            text = try s.readString()
                        } else {
                            try s.skipValue(depth: 4)
                        }
                    }
                }
            } else if keyEquals(key, "usage") {
                try s.forEachNestedMember("response.usage", depth: 2) { (key, s) throws(RecordError) in
                    if keyEquals(key, "completion_tokens_details") {
                        try s.forEachNestedMember("response.usage.completion_tokens_details", depth: 3) { (key, s) throws(RecordError) in
                            if keyEquals(key, "reasoning_tokens") {
                                e.reasoningTokens = try s.optionalInt("response.usage.completion_tokens_details.reasoning_tokens")
                            } else {
                                try s.skipValue(depth: 4)
                            }
                        }
                    } else {
                        try s.skipValue(depth: 3)
                    }
                }
            } else {
                try s.skipValue(depth: 2)
            }
        }
        return text
    }

    private static func number(_ s: inout JSONScanner, _ field: String) throws(RecordError) -> JSONScanner.Number? {
        if s.consumeNull() { return nil }
        guard let c = s.peek(), c == UInt8(ascii: "-") || (c >= 48 && c <= 57) else {
            throw RecordError(field: field, "should be epoch seconds (a number)")
        }
        do { return try s.readNumber() } catch { throw RecordError(field: field, error.reason) }
    }

    /// LiteLLM's `call_type` as an OTel `gen_ai.operation.name`.
    static func operation(_ callType: String) -> String {
        var t = Substring(callType)
        if t.hasPrefix("a") && !t.hasPrefix("anthropic") { t = t.dropFirst() }   // acompletion → completion
        switch t {
        case "completion", "anthropic_messages", "responses", "generate_content": return "chat"
        case "text_completion": return "text_completion"
        case "embedding": return "embeddings"
        default: return String(t)
        }
    }

    /// `success` is 200; a failure is its error code when that is an HTTP status, else 500.
    static func status(text: String?, code: Int?, errorCode: String?) -> Int? {
        if let code { return code }
        guard let text else { return nil }
        switch text.lowercased() {
        case "success": return 200
        case "failure":
            if let errorCode, let n = Int(errorCode), RecordLimits.statuses.contains(n) { return n }
            return 500
        default: return nil
        }
    }
}
