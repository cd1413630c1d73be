import DistillWatchCore
import Foundation

/// How time values are written: both encodings are valid traffic format v1.
public enum TimeEncoding: Sendable {
    /// `2026-04-22T03:14:15.926Z`
    case rfc3339
    /// `1776827655926`
    case epochMilliseconds
}

/// Writes v1 records as JSON Lines (one object per line, UTF-8, `\n`-terminated).
///
/// Field names and types follow `traffic-format.md` exactly; absent optionals are omitted.
/// - Complexity: O(n) in the size of the record; appends to the caller's buffer so that a
///   writer can batch many lines into one `write`.
public enum JSONLineEncoder {
    public static func append(
        _ e: Exchange, to out: inout [UInt8], timeEncoding: TimeEncoding = .rfc3339
    ) {
        var w = ObjectWriter(taking: &out)
        w.time("time", e.time, timeEncoding)
        w.string("account_id", e.accountID)
        w.string("request_id", e.requestID)
        w.string("api_key_id", e.apiKeyID)
        w.string("model", e.model)
        w.string("operation", e.operation)
        w.int("input_tokens", e.inputTokens)
        w.int("output_tokens", e.outputTokens)
        w.int("reasoning_tokens", e.reasoningTokens)
        w.int("max_tokens", e.maxTokens)
        w.double("temperature", e.temperature)
        w.bool("stream", e.stream)
        w.bool("thinking", e.thinking)
        w.int("tool_count", e.toolCount)
        w.int("message_count", e.messageCount)
        w.string("finish_reason", e.finishReason)
        w.int("status", e.status)
        w.double("latency_ms", e.latencyMilliseconds)
        w.string("client_ip", e.clientIP)
        w.int("asn", e.asn)
        w.string("country", e.country)
        w.string("user_agent", e.userAgent)
        w.string("client_fingerprint", e.clientFingerprint)
        w.string("end_user_id", e.endUserID)
        w.string("batch_id", e.batchID)
        w.string("reasoning_effort", e.reasoningEffort)
        w.string("reasoning_replay_of", e.reasoningReplayOf)
        w.bool("prefill", e.prefill)
        w.double("cost_usd", e.costUSD)
        w.string("system", e.system)
        w.string("prompt", e.prompt)
        w.string("response", e.response)
        if let content = e.content {
            // DistillWatch's own extension (readers of v1 ignore unknown fields): the prompt's
            // sketch, so a store can keep what the engine needs without the text.
            w.string("dw_content", Data(content.serialized()).base64EncodedString())
        }
        w.finish(returningTo: &out)
    }

    /// The exchange as a JSON line with its text fields (`system`, `prompt`, `response`)
    /// left out and its content sketch (`dw_content`) in: what a privacy-preserving store
    /// keeps. Decoding it gives back the same ``ContentFeatures``.
    public static func appendWithoutText(
        _ e: Exchange, to out: inout [UInt8], timeEncoding: TimeEncoding = .epochMilliseconds
    ) {
        append(e.withoutText, to: &out, timeEncoding: timeEncoding)
    }

    public static func append(
        _ a: AccountRecord, to out: inout [UInt8], timeEncoding: TimeEncoding = .rfc3339
    ) {
        var w = ObjectWriter(taking: &out)
        w.string("account_id", a.accountID)
        if let created = a.created { w.time("created", created, timeEncoding) }
        w.string("tier", a.tier)
        w.string("payment_fingerprint", a.paymentFingerprint)
        w.string("email_domain", a.emailDomain)
        w.string("declared_country", a.declaredCountry)
        w.string("payment_country", a.paymentCountry)
        w.bool("verified", a.verified)
        w.bool("allowlisted", a.allowlisted)
        w.string("plan", a.plan)
        w.double("plan_price_usd", a.planPriceUSD)
        w.finish(returningTo: &out)
    }

    public static func append(_ l: LabelRecord, to out: inout [UInt8]) {
        var w = ObjectWriter(taking: &out)
        w.string("account_id", l.accountID)
        w.string("label", l.label.rawValue)
        w.string("campaign", l.campaign)
        w.string("persona", l.persona)
        w.finish(returningTo: &out)
    }

    /// Appends `text` as a JSON string literal, quotes included.
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            for i in 0..<bytes.count {
                let c = bytes[i]
                guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                out.append(UInt8(ascii: "\\"))
                switch c {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [UInt8(ascii: "u"), 48, 48, hex[Int(c >> 4)], hex[Int(c & 15)]])
                }
                runStart = i + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Appends `"key":value` pairs of one JSON object. It takes the caller's buffer by
/// `swap` (no copy, the array stays uniquely referenced) and gives it back in `finish`.
private struct ObjectWriter {
    private var first = true
    private var out: [UInt8] = []

    init(taking buffer: inout [UInt8]) {
        swap(&out, &buffer)
        out.append(UInt8(ascii: "{"))
    }

    private mutating func key(_ name: StaticString) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    mutating func string(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        JSONLineEncoder.appendString(value, to: &out)
    }

    mutating func int(_ name: StaticString, _ value: Int?) {
        guard let value else { return }
        key(name)
        out.append(contentsOf: String(value).utf8)
    }

    mutating func double(_ name: StaticString, _ value: Double?) {
        guard let value, value.isFinite else { return }
        key(name)
        if value == value.rounded(), abs(value) < 1e15 {
            out.append(contentsOf: String(Int64(value)).utf8)
        } else {
            out.append(contentsOf: value.description.utf8)
        }
    }

    mutating func bool(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        key(name)
        out.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func time(_ name: StaticString, _ value: Timestamp, _ encoding: TimeEncoding) {
        key(name)
        switch encoding {
        case .rfc3339: JSONLineEncoder.appendString(value.rfc3339, to: &out)
        case .epochMilliseconds: out.append(contentsOf: String(value.millisecondsSinceEpoch).utf8)
        }
    }

    mutating func finish(returningTo buffer: inout [UInt8]) {
        out.append(UInt8(ascii: "}"))
        out.append(UInt8(ascii: "\n"))
        swap(&out, &buffer)
    }
}
