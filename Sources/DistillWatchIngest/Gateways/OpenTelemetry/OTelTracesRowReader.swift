import DistillWatchCore
import Foundation
import OpenTelemetryProto

/// Rows of `otel_traces`, the table the OpenTelemetry Collector's ClickHouse exporter
/// writes spans to (opentelemetry-collector-contrib, `exporter/clickhouseexporter`,
/// `traces_table.sql`), one JSON object per line as ClickHouse writes `JSONEachRow`:
///
/// ```json
/// {"Timestamp": 1775000000123456789, "SpanId": "5fb397be34d26b51", "Duration": 812000000,
///  "SpanAttributes": {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m-large",
///                     "gen_ai.usage.input_tokens": "812", "user.id": "acct-17", …},
///  "ResourceAttributes": {"service.name": "gateway", …}}
/// ```
///
/// Each row is turned back into the span it was made from and read as ``OTLPTraceReader``
/// reads a span, so a span gives the same exchange whether it arrives over OTLP or from the
/// exporter's table: the account from `accountAttributes` (span first, then resource), the
/// time from `Timestamp` (epoch ns, as a number or a numeric string; or an RFC 3339 string),
/// latency from `Duration` (ns), `request_id` from `SpanId`, usage, parameters and messages
/// from the GenAI attributes. The exporter keeps every attribute value as a string
/// (`Map(LowCardinality(String), String)`): the GenAI attributes that are numbers or booleans
/// in the semantic conventions (token counts, `gen_ai.request.max_tokens`,
/// `gen_ai.request.temperature`, `gen_ai.request.stream`, `http.response.status_code`), and
/// attributes named as traffic format v1's numeric and boolean fields (`asn`, `cost_usd`,
/// `prefill`, …), are read back as such, and `gen_ai.response.finish_reasons`, kept as JSON
/// array text, as an array.
///
/// Rows that are not a call to a model (no `gen_ai.*` attribute, or an agent or tool
/// operation) are skipped (``decode(_:)`` returns `nil`).
/// - Complexity: O(line length + attributes).
public struct OTelTracesRowReader: Sendable {
    public var otlp: OTLPTraceReader

    public init(otlp: OTLPTraceReader) { self.otlp = otlp }

    /// Attribute values the semantic conventions type as integers, and traffic format v1's
    /// integer fields (an attribute under a v1 name is read as that field).
    static let integerAttributes: Set<String> = [
        "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.prompt_tokens",
        "gen_ai.usage.completion_tokens", "gen_ai.usage.reasoning.output_tokens", "gen_ai.request.max_tokens",
        "http.response.status_code", "gen_ai.request.seed", "gen_ai.request.choice.count",
        "input_tokens", "output_tokens", "reasoning_tokens", "max_tokens", "tool_count", "message_count", "status", "asn",
    ]
    static let doubleAttributes: Set<String> = ["gen_ai.request.temperature", "gen_ai.request.top_p", "temperature", "latency_ms", "cost_usd"]
    static let booleanAttributes: Set<String> = ["gen_ai.request.stream", "stream", "thinking", "prefill"]
    static let arrayAttributes: Set<String> = ["gen_ai.response.finish_reasons"]

    /// - Returns: the exchange, or `nil` for a span that is not a model call.
    /// - Throws: ``RecordError`` naming the column (`Timestamp`, `SpanAttributes`, …) or the
    ///   v1 field the span could not fill.
    public func decode(_ line: UnsafeBufferPointer<UInt8>) throws(RecordError) -> Exchange? {
        var s = JSONScanner(line)
        var span = Opentelemetry_Proto_Trace_V1_Span()
        var resource: [Opentelemetry_Proto_Common_V1_KeyValue] = []
        var start: UInt64?
        var duration: UInt64?
        var spanID = ""
        try s.forEachMember { (key, s) throws(RecordError) in
            if keyEquals(key, "Timestamp") { start = try Self.nanoseconds(&s, "Timestamp"); return }
            if keyEquals(key, "Duration") { duration = try Self.unsigned(&s, "Duration"); return }
            if keyEquals(key, "SpanId") { spanID = try s.optionalString("SpanId") ?? ""; return }
            if keyEquals(key, "SpanName") { span.name = try s.optionalString("SpanName") ?? ""; return }
            if keyEquals(key, "SpanAttributes") { span.attributes = try Self.attributes(&s, "SpanAttributes"); return }
            if keyEquals(key, "ResourceAttributes") { resource = try Self.attributes(&s, "ResourceAttributes"); return }
            try s.skipValue()
        }
        guard let start, start > 0 else { throw RecordError(field: "Timestamp", "missing: the row has no span start time") }
        span.startTimeUnixNano = start
        if let duration {
            let (end, overflow) = start.addingReportingOverflow(duration)
            guard !overflow else { throw RecordError(field: "Duration", "\(duration) ns from the start time ends beyond 64 bits of nanoseconds") }
            span.endTimeUnixNano = end
        }
        guard OTLPTraceReader.isModelCall(span) else { return nil }
        let record = try otlp.record(of: span, spanID: spanID, resource: resource)
        return try record.withUnsafeBufferPointer { bytes throws(RecordError) in try otlp.decoder.decode(bytes) }
    }

    /// A Map column as key-value attributes, typed where the conventions type them.
    static func attributes(_ s: inout JSONScanner, _ field: String) throws(RecordError) -> [Opentelemetry_Proto_Common_V1_KeyValue] {
        if s.consumeNull() { return [] }
        var out: [Opentelemetry_Proto_Common_V1_KeyValue] = []
        try s.forEachNestedMember(field) { (key, s) throws(RecordError) in
            var kv = Opentelemetry_Proto_Common_V1_KeyValue()
            kv.key = String(decoding: key, as: UTF8.self)
            guard let text = try s.optionalIdentifier(field + "." + kv.key) else { return }
            kv.value = typed(text, key: kv.key)
            out.append(kv)
        }
        return out
    }

    static func typed(_ text: String, key: String) -> Opentelemetry_Proto_Common_V1_AnyValue {
        var v = Opentelemetry_Proto_Common_V1_AnyValue()
        if integerAttributes.contains(key), let n = Int64(text) {
            v.intValue = n
        } else if doubleAttributes.contains(key), let d = Double(text), d.isFinite {
            v.doubleValue = d
        } else if booleanAttributes.contains(key), text == "true" || text == "false" {
            v.boolValue = text == "true"
        } else if arrayAttributes.contains(key), let items = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String] {
            var array = Opentelemetry_Proto_Common_V1_ArrayValue()
            array.values = items.map { var item = Opentelemetry_Proto_Common_V1_AnyValue(); item.stringValue = $0; return item }
            v.arrayValue = array
        } else {
            v.stringValue = text
        }
        return v
    }

    /// Epoch nanoseconds: a number, a numeric string (64-bit integers quoted), or an RFC 3339 time.
    static func nanoseconds(_ s: inout JSONScanner, _ field: StaticString) throws(RecordError) -> UInt64? {
        if s.consumeNull() { return nil }
        if s.peek() == 0x22 {
            let text = try s.readString()
            if let n = UInt64(text) { return n }
            guard let t = Timestamp(rfc3339: text) else {
                throw RecordError(field: "\(field)", "not epoch nanoseconds or an RFC 3339 time with an offset: \"\(text.prefix(40))\"")
            }
            // Epoch nanoseconds in 64 bits end in 2554; before 1970 there are none.
            let ms = t.millisecondsSinceEpoch
            let (nanoseconds, overflow) = UInt64(max(0, ms)).multipliedReportingOverflow(by: 1_000_000)
            guard !overflow, ms >= 0 else {
                throw RecordError(field: "\(field)", "\"\(text.prefix(40))\" is outside the epoch nanoseconds a span can carry (1970 to 2554)")
            }
            return nanoseconds
        }
        return try unsigned(&s, field)
    }

    static func unsigned(_ s: inout JSONScanner, _ field: StaticString) throws(RecordError) -> UInt64? {
        if s.consumeNull() { return nil }
        if s.peek() == 0x22 {
            let text = try s.readString()
            guard let n = UInt64(text) else { throw RecordError(field: "\(field)", "should be a non-negative integer, got \"\(text.prefix(40))\"") }
            return n
        }
        guard let n = try s.optionalInt(field), n >= 0 else { throw RecordError(field: "\(field)", "should be a non-negative integer") }
        return UInt64(n)
    }
}
