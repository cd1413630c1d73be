import DistillWatchCore

/// What one call of LiteLLM's Generic Guardrail API tells DistillWatch
/// (`POST /beta/litellm_basic_guardrail_api`; `GenericGuardrailAPIRequest` in
/// litellm/types/proxy/guardrails/guardrail_hooks/generic_guardrail_api.py, 1.106.2):
/// `{input_type, litellm_call_id, structured_messages, texts, tools, request_data:
/// {user_api_key_*}, request_headers, model, additional_provider_specific_params}`.
public struct LiteLLMGuardrailCall: Sendable, Equatable {
    /// `request` (before the model is called) or `response` (after).
    public var inputType: String?
    /// LiteLLM's id of the request; the same id is in its logging payload.
    public var callID: String?
    public var identity = LiteLLMIdentity.Values()
    public var model: String?
    public var messageCount: Int?
    public var toolCount: Int?
    /// The request ends with an assistant turn (prefill).
    public var prefill: Bool?
    public var userAgent: String?
    /// The first address of `x-forwarded-for`, when LiteLLM forwards that header.
    public var clientIP: String?
    /// The last user message and the system messages, when the decoder keeps text.
    public var prompt: String?
    public var system: String?
    /// `texts` of a `response` call (the answer's texts, in order), when the decoder keeps
    /// them (``GuardrailCallDecoder/keepsResponseTexts``); nil otherwise.
    public var responseTexts: [String]?

    public init() {}

    /// The exchange this call stands for, observed at `time` (the guardrail sees the
    /// request as it arrives), or `nil` for a `response` call (the request was already
    /// seen) and a call that names no account.
    /// - Parameters:
    ///   - accountID: the account the identity resolved to.
    ///   - sketcher: reduces the prompt to content sketches; text is then dropped.
    ///   - identity: whose placeholders are no key id (as for logging payloads).
    public func exchange(accountID: String, at time: Timestamp, sketcher: ContentSketcher?,
                         identity naming: LiteLLMIdentity = LiteLLMIdentity()) -> Exchange? {
        guard inputType != "response" else { return nil }
        var e = Exchange(time: time, accountID: accountID)
        e.requestID = callID
        e.model = model
        e.operation = "chat"
        e.messageCount = messageCount
        e.toolCount = toolCount
        e.prefill = prefill
        e.userAgent = userAgent
        e.clientIP = clientIP
        e.endUserID = identity.endUserID
        if naming.isIdentity(identity.keyHash) { e.apiKeyID = identity.keyHash }
        if let sketcher, let prompt {
            // Tool definitions make it agentic whatever the words say (``ContentSketcher/features(prompt:system:toolCount:)``).
            e.content = sketcher.features(prompt: prompt, system: system, toolCount: toolCount)
        }
        // A value outside the limits (an 8 KB user agent) is left out; the request still counts.
        return e.withoutValuesOutsideLimits()?.exchange
    }
}

/// Decodes a guardrail call body in one pass, materialising only what
/// ``LiteLLMGuardrailCall`` holds: the prompt's copy in `texts`, images and tool schemas
/// are skipped unread (eight bytes at a time), so a body of several megabytes costs a
/// scan, not a parse into objects.
///
/// Lenient where LiteLLM's shapes vary: identity values that are numbers (YAML
/// `account_id: 4021`) are taken as their decimal text; `null`, empty strings and missing
/// objects are absent.
/// - Complexity: O(n) in the body's bytes.
public struct GuardrailCallDecoder: Sendable {
    /// Keep the last user message and system text (to sketch them).
    public var keepsText: Bool
    /// Keep `texts` when the call is a `response` call (for the reasoning directives);
    /// a `request` call's `texts` (the prompt again) is never materialised.
    public var keepsResponseTexts: Bool

    public init(keepsText: Bool, keepsResponseTexts: Bool = false) {
        self.keepsText = keepsText
        self.keepsResponseTexts = keepsResponseTexts
    }

    /// - Throws: ``RecordError`` naming the field for a body that is not a JSON object or
    ///   has a value of the wrong shape.
    public func decode(_ bytes: UnsafeBufferPointer<UInt8>) throws(RecordError) -> LiteLLMGuardrailCall {
        var call = LiteLLMGuardrailCall()
        var s = JSONScanner(bytes)
        let keepsText = self.keepsText
        // Where `texts` is: it precedes `input_type` in LiteLLM's bodies, so it is skipped
        // and read again only once the call turns out to be a response.
        var textsRange: Range<Int>?
        try s.forEachMember { (key, s) throws(RecordError) in
            if keyEquals(key, "texts") {
                s.skipWhitespace()
                let start = s.position
                try s.skipValue(depth: 1)
                textsRange = start..<s.position
            } else if keyEquals(key, "input_type") {
                call.inputType = try s.optionalIdentifier("input_type")
            } else if keyEquals(key, "litellm_call_id") {
                call.callID = try s.optionalIdentifier("litellm_call_id")
            } else if keyEquals(key, "model") {
                call.model = try s.optionalIdentifier("model")
            } else if keyEquals(key, "structured_messages") {
                let m = try ChatMessages.read(&s, field: "structured_messages", keepText: keepsText)
                call.messageCount = m.count
                call.prefill = m.count > 0 ? m.endsWithAssistant : nil
                call.prompt = m.lastUserText
                call.system = m.systemText
            } else if keyEquals(key, "tools") {
                var n = 0
                try s.forEachElement("tools") { (_, s) throws(RecordError) in n += 1; try s.skipValue(depth: 2) }
                if n > 0 || call.toolCount != nil { call.toolCount = n }
            } else if keyEquals(key, "request_data") {
                try s.forEachNestedMember("request_data") { (key, s) throws(RecordError) in
                    if keyEquals(key, "user_api_key_hash") { call.identity.keyHash = try s.optionalIdentifier("request_data.user_api_key_hash") }
                    else if keyEquals(key, "user_api_key_alias") { call.identity.keyAlias = try s.optionalIdentifier("request_data.user_api_key_alias") }
                    else if keyEquals(key, "user_api_key_user_id") { call.identity.userID = try s.optionalIdentifier("request_data.user_api_key_user_id") }
                    else if keyEquals(key, "user_api_key_team_id") { call.identity.teamID = try s.optionalIdentifier("request_data.user_api_key_team_id") }
                    else if keyEquals(key, "user_api_key_org_id") { call.identity.orgID = try s.optionalIdentifier("request_data.user_api_key_org_id") }
                    else if keyEquals(key, "user_api_key_end_user_id") { call.identity.endUserID = try s.optionalIdentifier("request_data.user_api_key_end_user_id") }
                    else { try s.skipValue(depth: 2) }
                }
            } else if keyEquals(key, "request_headers") {
                try s.forEachNestedMember("request_headers") { (key, s) throws(RecordError) in
                    if Self.caseInsensitiveEquals(key, "user-agent") {
                        call.userAgent = try s.optionalIdentifier("request_headers.user-agent")
                    } else if Self.caseInsensitiveEquals(key, "x-forwarded-for") {
                        let v = try s.optionalIdentifier("request_headers.x-forwarded-for")
                        call.clientIP = v.flatMap { $0.split(separator: ",").first.map { String($0).trimmingASCIISpaces } }
                    } else {
                        try s.skipValue(depth: 2)
                    }
                }
            } else if keyEquals(key, "additional_provider_specific_params") {
                try s.forEachNestedMember("additional_provider_specific_params") { (key, s) throws(RecordError) in
                    if keyEquals(key, "account_id") {
                        call.identity.param = try s.optionalIdentifier("additional_provider_specific_params.account_id")
                    } else {
                        try s.skipValue(depth: 2)
                    }
                }
            } else {
                try s.skipValue(depth: 1)
            }
        }
        if keepsResponseTexts, call.inputType == "response", let range = textsRange {
            var texts: [String] = []
            var t = JSONScanner(UnsafeBufferPointer(rebasing: bytes[range]))
            try t.forEachElement("texts") { (i, t) throws(RecordError) in
                guard t.peek() == UInt8(ascii: "\"") else { throw RecordError(field: "texts[\(i)]", "should be a string") }
                texts.append(try t.readString())
            }
            call.responseTexts = texts
        }
        return call
    }

    static func caseInsensitiveEquals(_ key: UnsafeBufferPointer<UInt8>, _ lower: StaticString) -> Bool {
        let n = lower.utf8CodeUnitCount
        guard key.count == n else { return false }
        let p = lower.utf8Start
        for i in 0..<n {
            var c = key[i]
            if c >= 65 && c <= 90 { c += 32 }
            if c != p[i] { return false }
        }
        return true
    }
}

extension String {
    var trimmingASCIISpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
