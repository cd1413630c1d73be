import DistillWatchIngest
import Hummingbird
import NIOCore

/// Writes a JSON object field by field into bytes: for the answers on the hot path
/// (`/v1/decide`, the LiteLLM guardrail), where Foundation's `JSONEncoder` costs more than
/// everything else in the request together.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma = false

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func beginArray(_ key: String) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Starts an element of an array (objects inside arrays).
    mutating func element() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = false
    }

    mutating func key(_ key: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        JSONLineEncoder.appendString(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma = true
    }

    mutating func field(_ key: String, _ value: String?) {
        self.key(key)
        if let value { JSONLineEncoder.appendString(value, to: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
    }

    /// A string element of an array.
    mutating func stringElement(_ value: String) {
        element()
        JSONLineEncoder.appendString(value, to: &bytes)
        needsComma = true
    }

    mutating func field(_ key: String, _ value: Int) {
        self.key(key)
        bytes.append(contentsOf: value.description.utf8)
    }

    mutating func field(_ key: String, _ value: Double) {
        self.key(key)
        bytes.append(contentsOf: (value.isFinite ? value : 0).description.utf8)
    }

    mutating func field(_ key: String, _ value: Bool) {
        self.key(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    func response(status: HTTPResponse.Status = .ok) -> Response {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(bytes.count + 1)
        buffer.writeBytes(bytes)
        buffer.writeInteger(UInt8(ascii: "\n"))
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}

extension DecideResponse: ResponseGenerator {
    func response(from request: Request, context: some RequestContext) throws -> Response {
        var w = JSONWriter()
        write(to: &w)
        return w.response()
    }

    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("account_id", accountID)
        w.field("allowlisted", allowlisted)
        w.field("analyst_label", analystLabel?.rawValue)
        if let apiKeyID { w.field("api_key_id", apiKeyID) }
        w.field("campaign_id", campaignID)
        if apiKeyID != nil {
            // null when the engine has not seen the key on this account.
            if let keyScore { w.field("key_score", keyScore) } else { w.field("key_score", nil as String?) }
            w.field("key_verdict", keyVerdict?.rawValue)
        }
        w.field("known", known)
        w.beginArray("reasons")
        for r in reasons {
            w.element()
            w.beginObject()
            w.field("contribution", r.contribution)
            w.field("detail", r.detail)
            w.field("signal", r.signal)
            w.field("value", r.value)
            w.endObject()
        }
        w.endArray()
        w.beginArray("directives")
        for d in directives {
            w.element()
            w.beginObject()
            w.field("directive", d.directive.rawValue)
            if let n = d.maxTokens { w.field("max_tokens", n) }
            if let n = d.requestsPerMinute { w.field("requests_per_minute", n) }
            w.field("rule", d.rule)
            w.endObject()
        }
        w.endArray()
        if let refusal {
            w.key("refusal")
            w.beginObject()
            w.field("code", refusal.code)
            w.field("directive", refusal.directive)
            w.field("message", refusal.message)
            if let s = refusal.retryAfterSeconds { w.field("retry_after_s", Int(s)) }
            w.field("status", refusal.status)
            w.endObject()
        } else {
            w.field("refusal", nil as String?)
        }
        w.field("score", score)
        w.field("signup_risk", signupRisk)
        w.field("verdict", verdict.rawValue)
        w.endObject()
    }
}

extension GuardrailResponse: ResponseGenerator {
    func response(from request: Request, context: some RequestContext) throws -> Response {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.field("action", action)
        if let blockedReason { w.field("blocked_reason", blockedReason) }
        if let texts {
            w.beginArray("texts")
            for t in texts { w.stringElement(t) }
            w.endArray()
        }
        w.endObject()
        return w.response()
    }
}
