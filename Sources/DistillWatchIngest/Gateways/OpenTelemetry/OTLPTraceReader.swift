import DistillWatchCore
import Foundation
import OpenTelemetryProto
import SwiftProtobuf

/// OTLP traces to exchanges: each GenAI span (a span with a `gen_ai.*` attribute) of an
/// `ExportTraceServiceRequest` that calls a model becomes one exchange; other spans (HTTP
/// server spans, database calls, and the agent and tool spans around model calls:
/// `invoke_agent`, `create_agent`, `execute_tool`) are counted and ignored. Message content
/// that cannot be read is left out, not held against the span.
///
/// Sources: the OTLP specification 1.x, "OTLP/HTTP" (protobuf and JSON encodings, and
/// "JSON Protobuf Encoding": trace and span ids as hex, 64-bit integers as strings or
/// numbers, enums as integers); the OpenTelemetry GenAI semantic conventions ("Semantic
/// conventions for generative client AI spans", 1.37+).
///
/// A span's attributes are read as a traffic format v1 record, so they follow exactly the
/// rules of a v1 line (limits, time units, sketching, the OTel attribute names the spec
/// accepts as aliases — `gen_ai.request.model`, `gen_ai.usage.input_tokens`,
/// `client.address`, `user_agent.original`, …), and fields the conventions do not name
/// (`asn`, `client_fingerprint`, `api_key_id`, …) may be set as attributes under their v1
/// names. On top of that:
///
/// | exchange field | from |
/// |---|---|
/// | `time` | the span's `startTimeUnixNano` |
/// | `latency_ms` | `endTimeUnixNano − startTimeUnixNano`, in ms |
/// | `account_id` | the first of ``accountAttributes`` the span (or its resource) carries |
/// | `request_id` | a `request_id` attribute, else the span id (hex), so a retried export merges |
/// | `prompt`, `message_count` | `gen_ai.input.messages` (JSON text or structured): the last user message, the number of messages |
/// | `system` | `gen_ai.system_instructions` |
/// | `input_tokens`, `output_tokens` | also the older `gen_ai.usage.prompt_tokens` / `completion_tokens` |
///
/// Resource attributes apply to every span of the resource; a span's own attribute wins.
public struct OTLPTraceReader: Sendable {
    /// The request message every OTLP/HTTP trace export carries.
    public typealias Request = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest

    /// How the request was encoded: it decides how span ids are read back.
    public enum Encoding: String, Sendable {
        /// `application/x-protobuf`.
        case protobuf
        /// `application/json`, OTLP's JSON Protobuf Encoding (one request per line in a file).
        case json
    }

    /// The attributes tried, in order, for the account: OTel's `user.id` and the older
    /// `enduser.id`.
    public static let defaultAccountAttributes = ["user.id", "enduser.id"]

    /// Attributes naming the account, tried in order on the span, then on its resource.
    public var accountAttributes: [String]
    /// The v1 decoder the span's record goes through (text capture, sketching, limits).
    public var decoder: ExchangeLineDecoder

    public init(accountAttributes: [String] = OTLPTraceReader.defaultAccountAttributes, decoder: ExchangeLineDecoder) {
        self.accountAttributes = accountAttributes.isEmpty ? Self.defaultAccountAttributes : accountAttributes
        self.decoder = decoder
    }

    /// Where a span was in its request, for error messages.
    public struct Position: Sendable, Equatable, CustomStringConvertible {
        public var resource: Int
        public var scope: Int
        public var span: Int
        public var spanID: String
        public var name: String

        public var description: String {
            "resourceSpans[\(resource)].scopeSpans[\(scope)].spans[\(span)] (spanId \(spanID.isEmpty ? "none" : spanID), \"\(name)\")"
        }
    }

    /// What a request held.
    public struct Tally: Sendable, Equatable {
        /// Every span of the request.
        public var spans = 0
        /// The GenAI spans among them (each an exchange or an error).
        public var genAISpans = 0
    }

    /// Decodes an OTLP/HTTP request body.
    /// - Throws: ``RecordError`` with the decoder's reason when the bytes are not an
    ///   `ExportTraceServiceRequest` in `encoding`. Unknown JSON fields are ignored, as OTLP
    ///   asks of receivers.
    /// - Complexity: O(n) in the bytes.
    public static func request(from bytes: UnsafeRawBufferPointer, encoding: Encoding) throws(RecordError) -> Request {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            if encoding == .protobuf { return Request() }  // an empty message is zero bytes
            throw RecordError("empty body: an OTLP/JSON request is a JSON object")
        }
        // A view of the caller's bytes, not a copy.
        let view = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count, deallocator: .none)
        do {
            switch encoding {
            case .protobuf:
                return try Request(serializedBytes: view)
            case .json:
                var options = JSONDecodingOptions()
                options.ignoreUnknownFields = true
                return try Request(jsonUTF8Bytes: view, options: options)
            }
        } catch {
            let kind = encoding == .json ? "OTLP/JSON" : "OTLP/protobuf"
            throw RecordError("not an \(kind) ExportTraceServiceRequest (\(Self.explain(error)))")
        }
    }

    /// SwiftProtobuf's decoding errors in words a sender can act on: its own descriptions are
    /// the case names (`numberRange`).
    static func explain(_ error: any Error) -> String {
        switch error as? JSONDecodingError {
        case .numberRange?:
            return "a number is outside its field's range: intValue is a signed 64-bit integer (at most "
                + "9223372036854775807), startTimeUnixNano and endTimeUnixNano unsigned (at most 18446744073709551615); "
                + "the request is decoded whole, so none of its spans was read"
        case .malformedNumber?, .leadingZero?: return "a number is malformed (OTLP/JSON writes 64-bit integers as decimal strings)"
        case .truncated?: return "the JSON ends before the request does"
        case .trailingGarbage?: return "bytes follow the request's JSON object"
        case .invalidUTF8?: return "a string is not UTF-8"
        case .malformedBool?: return "a boolValue is not true or false"
        case .illegalNull?: return "a null where the protocol allows none"
        case .schemaMismatch?, .failure?: return "a value of the wrong type for its field"
        default: return "\(error)"
        }
    }

    /// Calls `span` with each GenAI span's position and exchange or error, in request order.
    /// - Complexity: O(attributes) per span.
    @discardableResult
    public func forEachSpan(
        in request: Request, encoding: Encoding, _ span: (Position, Result<Exchange, RecordError>) -> Void
    ) -> Tally {
        var tally = Tally()
        for (r, resourceSpans) in request.resourceSpans.enumerated() {
            let resourceAttributes = resourceSpans.resource.attributes
            for (c, scopeSpans) in resourceSpans.scopeSpans.enumerated() {
                for (i, s) in scopeSpans.spans.enumerated() {
                    tally.spans += 1
                    guard Self.isModelCall(s) else { continue }
                    tally.genAISpans += 1
                    let id = Self.hexID(s.spanID, encoding: encoding)
                    let position = Position(resource: r, scope: c, span: i, spanID: id, name: s.name)
                    do throws(RecordError) {
                        let record = try self.record(of: s, spanID: id, resource: resourceAttributes)
                        let exchange = try record.withUnsafeBufferPointer { bytes throws(RecordError) in try decoder.decode(bytes) }
                        span(position, .success(exchange))
                    } catch {
                        span(position, .failure(error))
                    }
                }
            }
        }
        return tally
    }

    /// Operations that are not a call to a model (OTel GenAI `gen_ai.operation.name`
    /// values for agents and tools): their spans wrap model calls, which have spans of their own.
    static let operationsWithoutModelCall: Set<String> = ["invoke_agent", "create_agent", "execute_tool"]

    /// A span with a `gen_ai.*` attribute whose operation, if named, calls a model.
    static func isModelCall(_ span: Opentelemetry_Proto_Trace_V1_Span) -> Bool {
        var genAI = false
        for kv in span.attributes where kv.key.hasPrefix("gen_ai.") {
            genAI = true
            if kv.key == "gen_ai.operation.name", case .stringValue(let op) = kv.value.value, operationsWithoutModelCall.contains(op) {
                return false
            }
        }
        return genAI
    }

    /// The span as a v1 record (JSON bytes).
    func record(
        of span: Opentelemetry_Proto_Trace_V1_Span, spanID: String, resource: [Opentelemetry_Proto_Common_V1_KeyValue]
    ) throws(RecordError) -> [UInt8] {
        guard span.startTimeUnixNano != 0 else {
            throw RecordError(field: "startTimeUnixNano", "missing: the span has no start time")
        }
        // One pass over the resource's attributes, then the span's (which come later and so
        // win), for what is not copied as it stands. A linear scan: spans have a few dozen
        // attributes, and hashing each key cost more than the rest of the mapping.
        let attributes = span.attributes
        var accounts = [String?](repeating: nil, count: accountAttributes.count)
        var messagesValue: Opentelemetry_Proto_Common_V1_AnyValue?
        var instructionsValue: Opentelemetry_Proto_Common_V1_AnyValue?
        var olderInputTokens: Opentelemetry_Proto_Common_V1_AnyValue?
        var olderOutputTokens: Opentelemetry_Proto_Common_V1_AnyValue?
        func note(_ kv: Opentelemetry_Proto_Common_V1_KeyValue) {
            for (i, name) in accountAttributes.enumerated() where kv.key == name {
                if let id = Self.identifier(kv.value) { accounts[i] = id }
            }
            switch kv.key {
            case "gen_ai.input.messages": messagesValue = kv.value
            case "gen_ai.system_instructions": instructionsValue = kv.value
            case "gen_ai.usage.prompt_tokens": olderInputTokens = kv.value
            case "gen_ai.usage.completion_tokens": olderOutputTokens = kv.value
            default: break
            }
        }
        for kv in resource { note(kv) }
        for kv in attributes { note(kv) }
        guard let account = accounts.lazy.compactMap({ $0 }).first else {
            throw RecordError(field: "account_id",
                              "the span has none of the account attributes (\(accountAttributes.joined(separator: ", "))) "
                              + "on itself or its resource")
        }
        // What is derived comes first; the attributes follow, and the v1 decoder keeps the
        // last value of a field, so an attribute under a v1 name (latency_ms, request_id,
        // prompt, …) overrides what was derived, as the newer usage names override the older.
        var w = GatewayRecord()
        w.key("time")
        w.raw(String(span.startTimeUnixNano))
        w.key("account_id")
        JSONLineEncoder.appendString(account, to: &w.out)
        // In the unit the start's magnitude gives it, as `time` is read: nanoseconds as OTLP
        // defines them; a span written in seconds or milliseconds had its latency divided by 1e6.
        if span.endTimeUnixNano != 0, span.startTimeUnixNano <= UInt64(Int64.max), span.endTimeUnixNano <= UInt64(Int64.max),
           let elapsed = EpochUnit.elapsedMilliseconds(from: .integer(Int64(span.startTimeUnixNano)),
                                                       to: .integer(Int64(span.endTimeUnixNano))) {
            w.key("latency_ms")
            w.raw(String(elapsed))
        }
        if !spanID.isEmpty {
            w.key("request_id")
            JSONLineEncoder.appendString(spanID, to: &w.out)
        }
        // Message content that cannot be read (not JSON, another shape) is left out: the
        // span's usage and parameters still count.
        if let messages = try? Self.messages(messagesValue, field: "gen_ai.input.messages") {
            w.key("message_count")
            w.raw(String(messages.count))
            if let text = messages.lastUserText {
                w.key("prompt")
                JSONLineEncoder.appendString(text, to: &w.out)
            }
        }
        if let instructions = try? Self.messages(instructionsValue, field: "gen_ai.system_instructions", instructions: true),
           let text = instructions.systemText {
            w.key("system")
            JSONLineEncoder.appendString(text, to: &w.out)
        }
        if let olderInputTokens {
            w.key("gen_ai.usage.input_tokens")
            Self.appendJSON(olderInputTokens, to: &w.out)
        }
        if let olderOutputTokens {
            w.key("gen_ai.usage.output_tokens")
            Self.appendJSON(olderOutputTokens, to: &w.out)
        }
        func copy(_ kv: Opentelemetry_Proto_Common_V1_KeyValue) {
            switch kv.key {
            case "time", "account_id", "gen_ai.input.messages", "gen_ai.system_instructions", "gen_ai.output.messages",
                 "gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens":
                return
            default:
                w.key(kv.key)
                Self.appendJSON(kv.value, to: &w.out)
            }
        }
        for kv in resource { copy(kv) }
        for kv in attributes { copy(kv) }
        w.out.append(UInt8(ascii: "}"))
        return w.out
    }

    /// An attribute value usable as an identifier: a non-empty string, or an integer.
    static func identifier(_ value: Opentelemetry_Proto_Common_V1_AnyValue) -> String? {
        switch value.value {
        case .stringValue(let s): return s.isEmpty ? nil : s
        case .intValue(let i): return String(i)
        default: return nil
        }
    }

    /// The messages of `gen_ai.input.messages` or `gen_ai.system_instructions`: a JSON
    /// string (how spans record them) or a structured array.
    static func messages(
        _ value: Opentelemetry_Proto_Common_V1_AnyValue?, field: String, instructions: Bool = false
    ) throws(RecordError) -> ChatMessages? {
        guard let value else { return nil }
        var json: [UInt8]
        switch value.value {
        case .stringValue(let s): json = Array(s.utf8)
        case .arrayValue: json = []; appendJSON(value, to: &json)
        default: throw RecordError(field: field, "should be a JSON string or an array of messages")
        }
        return try json.withUnsafeBufferPointer { bytes throws(RecordError) -> ChatMessages in
            var s = JSONScanner(bytes)
            s.skipWhitespace()
            if instructions {
                // System instructions are a list of parts, not of messages.
                let (text, _) = try ChatMessages.readContent(&s, field: field, keepText: true)
                var m = ChatMessages()
                m.systemText = text
                return m
            }
            return try ChatMessages.read(&s, field: field, keepText: true)
        }
    }

    /// A span or trace id as the lowercase hex OTLP/JSON writes. From protobuf the bytes are
    /// the id; from JSON, swift-protobuf has read the hex text as base64 (proto3's JSON
    /// mapping for `bytes`), so re-encoding as base64 gives the text back exactly (ids are
    /// 16 or 32 hex digits, a multiple of 4, so no padding is involved).
    static func hexID(_ bytes: Data, encoding: Encoding) -> String {
        switch encoding {
        case .json: return bytes.base64EncodedString()
        case .protobuf:
            let digits = Array("0123456789abcdef".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count * 2)
            for b in bytes {
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 15)])
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// Appends an attribute value as JSON: strings, booleans, integers and doubles as
    /// themselves (a non-finite double as a string, which the v1 field then refuses by name),
    /// arrays and key-value lists as arrays and objects, bytes as base64.
    static func appendJSON(_ value: Opentelemetry_Proto_Common_V1_AnyValue, to out: inout [UInt8]) {
        switch value.value {
        case .stringValue(let s): JSONLineEncoder.appendString(s, to: &out)
        case .boolValue(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .intValue(let i): out.append(contentsOf: String(i).utf8)
        case .doubleValue(let d):
            if d.isFinite { out.append(contentsOf: "\(d)".utf8) } else { JSONLineEncoder.appendString("\(d)", to: &out) }
        case .arrayValue(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendJSON(v, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .kvlistValue(let kv):
            out.append(UInt8(ascii: "{"))
            for (i, pair) in kv.values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONLineEncoder.appendString(pair.key, to: &out)
                out.append(UInt8(ascii: ":"))
                appendJSON(pair.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .bytesValue(let d): JSONLineEncoder.appendString(d.base64EncodedString(), to: &out)
        case .stringValueStrindex, .none: out.append(contentsOf: "null".utf8)
        }
    }
}
