import DistillWatchCore
import Foundation

// Typed field readers shared by the record decoders. `null` counts as absent for optional
// fields, as in the spec's checker; a value of the wrong type rejects the record and names
// the field.
extension JSONScanner {
    mutating func optionalString(_ field: StaticString) throws(RecordError) -> String? {
        if consumeNull() { return nil }
        guard peek() == 0x22 else { throw RecordError(field: "\(field)", "should be a string") }
        return try readString()
    }

    mutating func optionalInt(_ field: StaticString) throws(RecordError) -> Int? {
        if consumeNull() { return nil }
        guard let c = peek(), c == UInt8(ascii: "-") || (c >= 48 && c <= 57) else {
            throw RecordError(field: "\(field)", "should be an integer")
        }
        let number: Number
        do { number = try readNumber() } catch { throw RecordError(field: "\(field)", error.reason) }
        switch number {
        case .integer(let v): return Int(v)
        case .fraction(let v) where v == v.rounded(.towardZero) && abs(v) >= 0x1p63:
            throw RecordError(field: "\(field)", "integer out of range (beyond 64 bits)")
        case .fraction:
            throw RecordError(field: "\(field)", "should be an integer, not a fraction")
        }
    }

    mutating func optionalDouble(_ field: StaticString) throws(RecordError) -> Double? {
        if consumeNull() { return nil }
        guard let c = peek(), c == UInt8(ascii: "-") || (c >= 48 && c <= 57) else {
            throw RecordError(field: "\(field)", "should be a number")
        }
        let number: Number
        do { number = try readNumber() } catch { throw RecordError(field: "\(field)", error.reason) }
        switch number {
        case .integer(let v): return Double(v)
        case .fraction(let v): return v
        }
    }

    mutating func optionalBool(_ field: StaticString) throws(RecordError) -> Bool? {
        if consumeNull() { return nil }
        if integerBooleans, let c = peek(), c == UInt8(ascii: "0") || c == UInt8(ascii: "1") {
            position += 1
            if let next = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) || next == UInt8(ascii: ".") {
                throw RecordError(field: "\(field)", "should be true or false (or 0 or 1)")
            }
            return c == UInt8(ascii: "1")
        }
        do { return try readBool() } catch { throw RecordError(field: "\(field)", integerBooleans ? "should be true or false (or 0 or 1)" : "should be true or false") }
    }

    /// A time: an RFC 3339 string with an offset, or an epoch number (traffic format v1
    /// revision 1.1): integer milliseconds, or integer or fractional seconds, milliseconds,
    /// microseconds or nanoseconds, the unit told by the magnitude (for times in
    /// ``RecordLimits`` the four units occupy disjoint ranges). A number in none of them is
    /// rejected, never reinterpreted. Records check the range of string times (see
    /// ``Exchange/problem``).
    mutating func optionalTime(_ field: StaticString) throws(RecordError) -> Timestamp? {
        if consumeNull() { return nil }
        let time: Timestamp
        if peek() == 0x22 {
            let parsed = try withStringBytes { Timestamp.parseRFC3339($0) }
            guard let parsed else {
                throw RecordError(field: "\(field)", "not an RFC 3339 time with an offset (e.g. 2026-04-22T03:14:15.926Z)")
            }
            time = parsed
        } else {
            guard let c = peek(), c == UInt8(ascii: "-") || (c >= 48 && c <= 57) else {
                throw RecordError(field: "\(field)", "should be an RFC 3339 string or an epoch number")
            }
            let number: Number
            do { number = try readNumber() } catch { throw RecordError(field: "\(field)", error.reason) }
            guard let t = EpochUnit.timestamp(number) else {
                throw RecordError(field: "\(field)", EpochUnit.outOfRange(number))
            }
            time = t
        }
        return time
    }
}

extension JSONScanner {
    /// A string identity or tag, leniently: a number is taken as its decimal text (LiteLLM
    /// passes YAML and JSON values through, so `4021` arrives as a number); `null` and the
    /// empty string are absent.
    /// - Throws: ``RecordError`` naming `field` for any other value.
    mutating func optionalIdentifier(_ field: String) throws(RecordError) -> String? {
        if consumeNull() { return nil }
        if peek() == 0x22 {
            let v = try readString()
            return v.isEmpty ? nil : v
        }
        if let c = peek(), c == UInt8(ascii: "-") || (c >= 48 && c <= 57) {
            let number: Number
            do { number = try readNumber() } catch { throw RecordError(field: field, error.reason) }
            switch number {
            case .integer(let v): return String(v)
            case .fraction(let v):
                guard v.isFinite else { throw RecordError(field: field, "is not a finite number") }
                return v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
            }
        }
        throw RecordError(field: field, "should be a string")
    }

    /// `thinking`: Anthropic's `{"type": "enabled" | "adaptive" | "disabled", ...}` (true,
    /// true, false), or a plain boolean; `null` is absent.
    mutating func optionalThinking() throws(RecordError) -> Bool? {
        if consumeNull() { return nil }
        if peek() == UInt8(ascii: "t") || peek() == UInt8(ascii: "f") { return try optionalBool("thinking") }
        var type: String?
        try forEachNestedMember("thinking", depth: 3) { (key, s) throws(RecordError) in
            if keyEquals(key, "type") { type = try s.optionalString("thinking.type") } else { try s.skipValue(depth: 3) }
        }
        guard let type else { return true }
        return type != "disabled"
    }
}

extension Timestamp {
    /// The time an integer epoch number stands for, in the unit its magnitude implies
    /// (seconds, milliseconds, microseconds or nanoseconds; traffic format v1 revision 1.1),
    /// as a record's `time` is read: `nil` when it is a time between 2000 and 2100 in no unit.
    /// For times typed on a command line (`--since`, `--until`), where epoch seconds read as
    /// milliseconds gave a window in 1970.
    public init?(epochNumber: Int64) {
        guard let time = EpochUnit.timestamp(.integer(epochNumber)) else { return nil }
        self = time
    }
}

/// Epoch numbers in the unit their magnitude implies (traffic format v1 revision 1.1).
enum EpochUnit: CaseIterable {
    case seconds, milliseconds, microseconds, nanoseconds

    /// Milliseconds per unit, as a divisor (µs, ns) or multiplier (s).
    var scale: Double {
        switch self {
        case .seconds: return 1000
        case .milliseconds: return 1
        case .microseconds: return 1e-3
        case .nanoseconds: return 1e-6
        }
    }

    /// The range of epoch values of this unit that fall between 2000 and 2100.
    var range: Range<Double> {
        let first = Double(RecordLimits.earliestTime.millisecondsSinceEpoch) / scale
        let end = Double(RecordLimits.endOfTime.millisecondsSinceEpoch) / scale
        return first..<end
    }

    /// The time an epoch number stands for, or `nil` when it falls in no unit's range.
    static func timestamp(_ number: JSONScanner.Number) -> Timestamp? {
        switch number {
        case .integer(let v):
            // Exact integer arithmetic (the nanosecond bounds, about 4.1e18, fit in Int64).
            let first = RecordLimits.earliestTime.millisecondsSinceEpoch
            let end = RecordLimits.endOfTime.millisecondsSinceEpoch
            if v >= first && v < end { return Timestamp(millisecondsSinceEpoch: v) }
            if v >= first / 1000 && v < end / 1000 { return Timestamp(millisecondsSinceEpoch: v * 1000) }
            if v >= first * 1000 && v < end * 1000 { return Timestamp(millisecondsSinceEpoch: v / 1000) }
            if v >= first * 1_000_000 && v < end * 1_000_000 { return Timestamp(millisecondsSinceEpoch: v / 1_000_000) }
            return nil
        case .fraction(let v):
            for unit in EpochUnit.allCases where unit.range.contains(v) {
                return Timestamp(millisecondsSinceEpoch: Int64((v * unit.scale).rounded(.down)))
            }
            return nil
        }
    }

    /// The unit whose 2000–2100 range holds `number`, or `nil`.
    static func unit(of number: JSONScanner.Number) -> EpochUnit? {
        switch number {
        case .integer(let v):
            // The bounds of ``timestamp(_:)``, exactly.
            let first = RecordLimits.earliestTime.millisecondsSinceEpoch
            let end = RecordLimits.endOfTime.millisecondsSinceEpoch
            if v >= first && v < end { return .milliseconds }
            if v >= first / 1000 && v < end / 1000 { return .seconds }
            if v >= first * 1000 && v < end * 1000 { return .microseconds }
            if v >= first * 1_000_000 && v < end * 1_000_000 { return .nanoseconds }
            return nil
        case .fraction(let v):
            return allCases.first { $0.range.contains(v) }
        }
    }

    /// Milliseconds from `start` to `end`, two epoch numbers read by magnitude (a span's or
    /// a LiteLLM payload's start and end times): `nil` unless both are times in the same
    /// unit and `end` is not before `start`. Integers are subtracted exactly (nanoseconds
    /// past 2^53 lose their last digits as doubles).
    static func elapsedMilliseconds(from start: JSONScanner.Number, to end: JSONScanner.Number) -> Double? {
        guard let unit = unit(of: start), unit == self.unit(of: end) else { return nil }
        switch (start, end) {
        case (.integer(let a), .integer(let b)):
            guard b >= a else { return nil }
            return Double(b - a) * unit.scale
        default:
            func value(_ n: JSONScanner.Number) -> Double {
                switch n { case .integer(let v): return Double(v); case .fraction(let v): return v }
            }
            let (a, b) = (value(start), value(end))
            guard b >= a else { return nil }
            return (b - a) * unit.scale
        }
    }

    static func outOfRange(_ number: JSONScanner.Number) -> String {
        let shown: String
        switch number {
        case .integer(let v): shown = "\(v)"
        case .fraction(let v): shown = "\(v)"
        }
        return "epoch number \(shown) is not a time between 2000 and 2100 in seconds, milliseconds, microseconds or nanoseconds"
    }
}

extension RecordError {
    /// A value outside ``RecordLimits``, as a reader reports it.
    public init(_ problem: RecordProblem) {
        self.init(field: problem.field, problem.reason)
    }
}

/// Decodes one exchange record (spec §1) from the bytes of a JSON line.
///
/// Unknown fields are validated and skipped. Text fields (`system`, `prompt`, `response`)
/// are materialised only when ``captureText`` is on: the behaviour signals do not need them,
/// and skipping a 500-byte prompt is several times cheaper than copying it. With it off, a
/// text field that is present decodes as the empty string, so its presence still shows.
///
/// - Complexity: O(n) in the line length.
public struct ExchangeLineDecoder: Sendable {
    public var captureText: Bool
    /// When set, `prompt` and `system` are reduced to ``ContentFeatures`` straight from the
    /// line's bytes (the text is not materialised unless ``captureText`` is on).
    public var sketcher: ContentSketcher?
    /// Refuse records with a value outside ``RecordLimits`` (on by default). Off only to
    /// read stored records as they were, e.g. to upgrade an old database and quarantine
    /// what the engine would refuse.
    public var validatesLimits: Bool
    /// Read 0 and 1 as false and true in boolean fields (``IngestOptions/integerBooleans``).
    public var integerBooleans = false

    public init(captureText: Bool = false, sketcher: ContentSketcher? = nil, validatesLimits: Bool = true) {
        self.captureText = captureText
        self.sketcher = sketcher
        self.validatesLimits = validatesLimits
    }

    public func decode(_ line: UnsafeBufferPointer<UInt8>) throws(RecordError) -> Exchange {
        // The decoder by address: the per-field closure captured the sketcher by value, and
        // the decoder was copied and destroyed on every line for it, about 120 instructions
        // (callgrind, 1 December 2026).
        try withUnsafePointer(to: self) { (decoder) throws(RecordError) -> Exchange in
            try Self.decode(line, decoder)
        }
    }

    private static func decode(_ line: UnsafeBufferPointer<UInt8>, _ decoder: UnsafePointer<ExchangeLineDecoder>) throws(RecordError) -> Exchange {
        var scanner = JSONScanner(line)
        scanner.integerBooleans = decoder.pointee.integerBooleans
        var time: Timestamp?
        var accountID: String?
        // A fresh blank record, its buffer this decoder's alone, so no write below copies it
        // (starting from a shared blank record copied its 472 bytes on the first write, and
        // `init(time:accountID:)` wrote all 33 fields, releasing each empty one).
        var built = Exchange(fields: Exchange.Fields())
        let captureText = decoder.pointee.captureText
        var systemPart: ContentFeatures?
        var sketchedPrompt = false
        // Other names for v1 fields: OTel GenAI attribute names (which the spec's names
        // follow) and provider-native request fields. A v1 name, when present, wins.
        var alias: FieldAliases?
        // The fields written in place: one uniqueness check for the record, not one per setter.
        try built.withFieldsForWriting { (fields: inout Exchange.Fields) throws(RecordError) in
            try scanner.forEachMember(into: &fields) { (key, s, e) throws(RecordError) in
                switch key.count {
                case 4:
                    if keyEquals(key, "time") { time = try s.optionalTime("time"); return }
                    if keyEquals(key, "user") { alias.made.endUserID = try s.optionalString("user"); return }
                case 5:
                    if keyEquals(key, "model") { e.model = try s.optionalString("model"); return }
                    if keyEquals(key, "tools") {
                        var n = 0
                        try s.forEachElement("tools") { (_, s) throws(RecordError) in n += 1; try s.skipValue(depth: 2) }
                        alias.made.toolCount = n
                        return
                    }
                case 6:
                    if keyEquals(key, "status") { e.status = try s.optionalInt("status"); return }
                    if keyEquals(key, "stream") { e.stream = try s.optionalBool("stream"); return }
                    if keyEquals(key, "prompt") {
                        if let sketcher = decoder.pointee.sketcher {
                            guard let (text, features) = try Self.sketchText(&s, "prompt", captureText: captureText, { sketcher.features(prompt: $0, toolCount: nil) }) else { return }
                            e.prompt = text
                            e.content = features
                            sketchedPrompt = true
                        } else {
                            e.prompt = captureText ? try s.optionalString("prompt") : try Self.skipText(&s, "prompt")
                        }
                        return
                    }
                    if keyEquals(key, "system"), s.peek() == UInt8(ascii: "[") {
                        // Anthropic's system blocks: [{"type": "text", "text": ...}, ...].
                        let (text, saw) = try ChatMessages.readContent(&s, field: "system", keepText: captureText || decoder.pointee.sketcher != nil)
                        if let sketcher = decoder.pointee.sketcher, let text {
                            var f = ContentFeatures()
                            var t = text
                            t.withUTF8 { sketcher.addSystem($0, to: &f) }
                            systemPart = f
                        }
                        e.system = captureText ? text : (saw ? "" : nil)
                        return
                    }
                    if keyEquals(key, "system") {
                        if let sketcher = decoder.pointee.sketcher {
                            guard let (text, features) = try Self.sketchText(&s, "system", captureText: captureText, { bytes in
                                var f = ContentFeatures()
                                sketcher.addSystem(bytes, to: &f)
                                return f
                            }) else { return }
                            e.system = text
                            systemPart = features
                        } else {
                            e.system = captureText ? try s.optionalString("system") : try Self.skipText(&s, "system")
                        }
                        return
                    }
                case 3:
                    if keyEquals(key, "asn") { e.asn = try s.optionalInt("asn"); return }
                case 7:
                    if keyEquals(key, "country") { e.country = try s.optionalString("country"); return }
                    if keyEquals(key, "prefill") { e.prefill = try s.optionalBool("prefill"); return }
                case 8:
                    if keyEquals(key, "thinking") {
                        // Anthropic's {"type": "enabled" | "adaptive" | "disabled"} as well as a boolean.
                        e.thinking = s.peek() == UInt8(ascii: "{") ? try s.optionalThinking() : try s.optionalBool("thinking")
                        return
                    }
                    if keyEquals(key, "batch_id") { e.batchID = try s.optionalString("batch_id"); return }
                    if keyEquals(key, "metadata"), s.peek() == UInt8(ascii: "{") {
                        // Anthropic Messages' {"user_id": "..."}: the end user (spec §1, end_user_id).
                        try s.forEachNestedMember("metadata") { (key, s) throws(RecordError) in
                            if keyEquals(key, "user_id") { alias.made.endUserID = try s.optionalIdentifier("metadata.user_id") } else { try s.skipValue(depth: 2) }
                        }
                        return
                    }
                    if keyEquals(key, "cost_usd") { e.costUSD = try s.optionalDouble("cost_usd"); return }
                    if keyEquals(key, "response") {
                        e.response = captureText ? try s.optionalString("response") : try Self.skipText(&s, "response")
                        return
                    }
                case 9:
                    if keyEquals(key, "operation") { e.operation = try s.optionalString("operation"); return }
                    if keyEquals(key, "client_ip") { e.clientIP = try s.optionalString("client_ip"); return }
                case 10:
                    if keyEquals(key, "account_id") { accountID = try s.optionalString("account_id"); return }
                    if keyEquals(key, "enduser.id") { alias.made.endUserID = try s.optionalString("enduser.id"); return }
                    if keyEquals(key, "request_id") { e.requestID = try s.optionalString("request_id"); return }
                    if keyEquals(key, "api_key_id") { e.apiKeyID = try s.optionalString("api_key_id"); return }
                    if keyEquals(key, "max_tokens") { e.maxTokens = try s.optionalInt("max_tokens"); return }
                    if keyEquals(key, "tool_count") { e.toolCount = try s.optionalInt("tool_count"); return }
                    if keyEquals(key, "latency_ms") { e.latencyMilliseconds = try s.optionalDouble("latency_ms"); return }
                    if keyEquals(key, "user_agent") { e.userAgent = try s.optionalString("user_agent"); return }
                    if keyEquals(key, "dw_content") {
                        // A stored sketch; a prompt in the same record, sketched now, takes precedence.
                        guard let text = try s.optionalString("dw_content") else { return }
                        guard let data = Data(base64Encoded: text), var features = ContentFeatures(serialized: Array(data)) else {
                            throw RecordError(field: "dw_content", "not a DistillWatch content sketch")
                        }
                        // An excerpt is prompt text: kept only where this reader keeps excerpts.
                        if decoder.pointee.sketcher?.keepsExcerpts != true { features.excerpt = nil }
                        // The last of two sketches, as any field given twice.
                        if !sketchedPrompt { e.content = features }
                        return
                    }
                case 11:
                    if keyEquals(key, "temperature") { e.temperature = try s.optionalDouble("temperature"); return }
                    if keyEquals(key, "end_user_id") { e.endUserID = try s.optionalString("end_user_id"); return }
                case 12:
                    if keyEquals(key, "input_tokens") { e.inputTokens = try s.optionalInt("input_tokens"); return }
                case 13:
                    if keyEquals(key, "output_tokens") { e.outputTokens = try s.optionalInt("output_tokens"); return }
                    if keyEquals(key, "output_config") {
                        // Anthropic's {"effort": "high"}: the reasoning effort.
                        try s.forEachNestedMember("output_config") { (key, s) throws(RecordError) in
                            if keyEquals(key, "effort") { alias.made.reasoningEffort = try s.optionalString("output_config.effort") } else { try s.skipValue(depth: 2) }
                        }
                        return
                    }
                    if keyEquals(key, "message_count") { e.messageCount = try s.optionalInt("message_count"); return }
                    if keyEquals(key, "finish_reason") { e.finishReason = try s.optionalString("finish_reason"); return }
                case 16:
                    if keyEquals(key, "reasoning_tokens") { e.reasoningTokens = try s.optionalInt("reasoning_tokens"); return }
                    if keyEquals(key, "reasoning_effort") { e.reasoningEffort = try s.optionalString("reasoning_effort"); return }
                case 14:
                    if keyEquals(key, "client.address") { alias.made.clientIP = try s.optionalString("client.address"); return }
                case 18:
                    if keyEquals(key, "client_fingerprint") { e.clientFingerprint = try s.optionalString("client_fingerprint"); return }
                case 19:
                    if keyEquals(key, "reasoning_replay_of") { e.reasoningReplayOf = try s.optionalString("reasoning_replay_of"); return }
                    if keyEquals(key, "user_agent.original") { alias.made.userAgent = try s.optionalString("user_agent.original"); return }
                case 20:
                    if keyEquals(key, "gen_ai.request.model") { alias.made.model = try s.optionalString("gen_ai.request.model"); return }
                case 21:
                    if keyEquals(key, "max_completion_tokens") { alias.made.maxTokens = try s.optionalInt("max_completion_tokens"); return }
                    if keyEquals(key, "gen_ai.operation.name") { alias.made.operation = try s.optionalString("gen_ai.operation.name"); return }
                    if keyEquals(key, "gen_ai.request.stream") { alias.made.stream = try s.optionalBool("gen_ai.request.stream"); return }
                case 25:
                    if keyEquals(key, "gen_ai.request.max_tokens") { alias.made.maxTokens = try s.optionalInt("gen_ai.request.max_tokens"); return }
                    if keyEquals(key, "gen_ai.usage.input_tokens") { alias.made.inputTokens = try s.optionalInt("gen_ai.usage.input_tokens"); return }
                    if keyEquals(key, "http.response.status_code") { alias.made.status = try s.optionalInt("http.response.status_code"); return }
                case 26:
                    if keyEquals(key, "gen_ai.request.temperature") { alias.made.temperature = try s.optionalDouble("gen_ai.request.temperature"); return }
                    if keyEquals(key, "gen_ai.usage.output_tokens") { alias.made.outputTokens = try s.optionalInt("gen_ai.usage.output_tokens"); return }
                case 30:
                    if keyEquals(key, "gen_ai.response.finish_reasons") {
                        try s.forEachElement("gen_ai.response.finish_reasons") { (index, s) throws(RecordError) in
                            let reason = try s.optionalString("gen_ai.response.finish_reasons")
                            if index == 0 { alias.made.finishReason = reason }
                        }
                        return
                    }
                case 36:
                    if keyEquals(key, "gen_ai.usage.reasoning.output_tokens") {
                        alias.made.reasoningTokens = try s.optionalInt("gen_ai.usage.reasoning.output_tokens")
                        return
                    }
                default:
                    break
                }
                try s.skipValue()
            }
            guard let time else { throw RecordError(field: "time", "missing required field") }
            guard let accountID else { throw RecordError(field: "account_id", "missing required field") }
            Self.complete(&fields, time: time, accountID: accountID, alias: alias,
                          sketchedPrompt: sketchedPrompt, systemPart: systemPart)
        }
        // Last, since a write forgets the check (``Exchange/isCheckedWithinLimits``).
        if decoder.pointee.validatesLimits, let problem = built.checkLimits() { throw RecordError(problem) }
        return built
    }

    /// Sets the required fields, fills what only an alias gave and, when the prompt was
    /// sketched, completes its features.
    private static func complete(_ e: inout Exchange.Fields, time: Timestamp, accountID: String, alias: FieldAliases?,
                                 sketchedPrompt: Bool, systemPart: ContentFeatures?) {
        e.time = time
        e.accountID = accountID
        if let alias, alias.isUsed { alias.fill(&e) }
        if sketchedPrompt { completeContent(of: &e, systemPart: systemPart) }
    }

    /// Adds the system prompt's features to the prompt's, and marks an exchange that sent
    /// tool definitions as agentic whatever the prompt's words say.
    private static func completeContent(of e: inout Exchange.Fields, systemPart: ContentFeatures?) {
        // In place (`e.content!`): a copy would share the features' storage and make each
        // change copy it.
        guard e.content != nil else { return }
        if let systemPart {
            e.content!.systemKey = systemPart.systemKey
            e.content!.systemCues = systemPart.systemCues
            let systemShared = systemPart.sharedFingerprints
            if !systemShared.isEmpty { e.content!.sharedFingerprints.mergeSystemFingerprints(systemShared) }
        }
        if (e.toolCount ?? 0) > 0 { e.content!.capability = .agenticToolUse }
    }

    /// Reads a text field and computes its features from the raw bytes; returns the text
    /// (only when ``captureText`` is on, else `""` to mark presence) and the features, or
    /// `nil` for `null`.
    ///
    /// Static, like ``skipText(_:_:)``, so that the per-field closure of
    /// ``decode(_:)`` does not capture the decoder: capturing it copied the decoder (its
    /// sketcher and options) three times per line (callgrind, 1 December 2026).
    private static func sketchText(
        _ s: inout JSONScanner, _ field: StaticString, captureText: Bool, _ sketch: (UnsafeBufferPointer<UInt8>) -> ContentFeatures
    ) throws(RecordError) -> (String, ContentFeatures)? {
        if s.consumeNull() { return nil }
        guard s.peek() == 0x22 else { throw RecordError(field: "\(field)", "should be a string") }
        return try s.withStringBytes { bytes in
            (captureText ? String(decoding: bytes, as: UTF8.self) : "", sketch(bytes))
        }
    }

    /// Validates and skips a text field; returns `""` when it was present (so that the
    /// engine can tell that records carry text) and `nil` when absent or null.
    private static func skipText(_ s: inout JSONScanner, _ field: StaticString) throws(RecordError) -> String? {
        if s.consumeNull() { return nil }
        guard s.peek() == 0x22 else { throw RecordError(field: "\(field)", "should be a string") }
        try s.skipString()
        return ""
    }
}

/// Values read under another name than v1's, applied where the v1 field is absent:
/// OTel GenAI attribute names (`gen_ai.request.model`, `gen_ai.usage.input_tokens`,
/// `client.address`, `user_agent.original`, `enduser.id`, …; OpenTelemetry semantic
/// conventions for GenAI, v1.37) and provider request fields (OpenAI's `user`,
/// `max_completion_tokens`; Anthropic's `tools`, `output_config.effort`).
extension Optional where Wrapped == FieldAliases {
    /// The aliases, made by the first alias field of a line: most lines have none, and an
    /// absent value costs nothing to destroy (a made one, its seven strings' releases).
    var made: FieldAliases {
        get { self ?? FieldAliases() }
        set { self = newValue }
    }
}

struct FieldAliases {
    var model: String?
    var operation: String?
    var inputTokens: Int?
    var outputTokens: Int?
    var reasoningTokens: Int?
    var maxTokens: Int?
    var temperature: Double?
    var stream: Bool?
    var toolCount: Int?
    var finishReason: String?
    var status: Int?
    var clientIP: String?
    var userAgent: String?
    var endUserID: String?
    var reasoningEffort: String?

    var isUsed: Bool {
        model != nil || operation != nil || inputTokens != nil || outputTokens != nil || reasoningTokens != nil
            || maxTokens != nil || temperature != nil || stream != nil || toolCount != nil || finishReason != nil
            || status != nil || clientIP != nil || userAgent != nil || endUserID != nil || reasoningEffort != nil
    }

    func fill(_ e: inout Exchange.Fields) {
        if e.model == nil { e.model = model }
        if e.operation == nil { e.operation = operation }
        if e.inputTokens == nil { e.inputTokens = inputTokens }
        if e.outputTokens == nil { e.outputTokens = outputTokens }
        if e.reasoningTokens == nil { e.reasoningTokens = reasoningTokens }
        if e.maxTokens == nil { e.maxTokens = maxTokens }
        if e.temperature == nil { e.temperature = temperature }
        if e.stream == nil { e.stream = stream }
        if e.toolCount == nil { e.toolCount = toolCount }
        if e.finishReason == nil { e.finishReason = finishReason }
        if e.status == nil { e.status = status }
        if e.clientIP == nil { e.clientIP = clientIP }
        if e.userAgent == nil { e.userAgent = userAgent }
        if e.endUserID == nil { e.endUserID = endUserID }
        if e.reasoningEffort == nil { e.reasoningEffort = reasoningEffort }
    }
}

/// Decodes one account record (spec §2) from the bytes of a JSON line.
public struct AccountLineDecoder: Sendable {
    /// As ``ExchangeLineDecoder/validatesLimits``.
    public var validatesLimits: Bool

    public init(validatesLimits: Bool = true) {
        self.validatesLimits = validatesLimits
    }

    public func decode(_ line: UnsafeBufferPointer<UInt8>) throws(RecordError) -> AccountRecord {
        var scanner = JSONScanner(line)
        var a = AccountRecord(accountID: "")
        var accountID: String?
        try scanner.forEachMember { (key, s) throws(RecordError) in
            if keyEquals(key, "account_id") { accountID = try s.optionalString("account_id") }
            else if keyEquals(key, "created") { a.created = try s.optionalTime("created") }
            else if keyEquals(key, "tier") { a.tier = try s.optionalString("tier") }
            else if keyEquals(key, "payment_fingerprint") { a.paymentFingerprint = try s.optionalString("payment_fingerprint") }
            else if keyEquals(key, "email_domain") { a.emailDomain = try s.optionalString("email_domain") }
            else if keyEquals(key, "declared_country") { a.declaredCountry = try s.optionalString("declared_country") }
            else if keyEquals(key, "payment_country") { a.paymentCountry = try s.optionalString("payment_country") }
            else if keyEquals(key, "verified") { a.verified = try s.optionalBool("verified") }
            else if keyEquals(key, "allowlisted") { a.allowlisted = try s.optionalBool("allowlisted") }
            else if keyEquals(key, "plan") { a.plan = try s.optionalString("plan") }
            else if keyEquals(key, "plan_price_usd") { a.planPriceUSD = try s.optionalDouble("plan_price_usd") }
            else { try s.skipValue() }
        }
        guard let accountID else { throw RecordError(field: "account_id", "missing required field") }
        a.accountID = accountID
        if validatesLimits, let problem = a.problem { throw RecordError(problem) }
        return a
    }
}

/// Decodes one label record (spec §3) from the bytes of a JSON line.
public struct LabelLineDecoder: Sendable {
    public init() {}

    public func decode(_ line: UnsafeBufferPointer<UInt8>) throws(RecordError) -> LabelRecord {
        var scanner = JSONScanner(line)
        var accountID: String?
        var label: String?
        var campaign: String?
        var persona: String?
        try scanner.forEachMember { (key, s) throws(RecordError) in
            if keyEquals(key, "account_id") { accountID = try s.optionalString("account_id") }
            else if keyEquals(key, "label") { label = try s.optionalString("label") }
            else if keyEquals(key, "campaign") { campaign = try s.optionalString("campaign") }
            else if keyEquals(key, "persona") { persona = try s.optionalString("persona") }
            else { try s.skipValue() }
        }
        guard let accountID else { throw RecordError(field: "account_id", "missing required field") }
        if let problem = RecordLimits.problem(identifier: accountID, field: "account_id") { throw RecordError(problem) }
        guard let label else { throw RecordError(field: "label", "missing required field") }
        guard let value = LabelRecord.Label(rawValue: label) else {
            throw RecordError(field: "label", "must be \"attack\" or \"legit\", got \"\(label)\"")
        }
        return LabelRecord(accountID: accountID, label: value, campaign: campaign, persona: persona)
    }
}

extension ExchangeLineDecoder {
    /// Convenience for tests and small inputs: decodes a line given as a `String`.
    public func decode(_ line: String) throws(RecordError) -> Exchange {
        var line = line
        let result = line.withUTF8 { bytes in Result { () throws(RecordError) in try decode(bytes) } }
        return try result.get()
    }
}

extension AccountLineDecoder {
    public func decode(_ line: String) throws(RecordError) -> AccountRecord {
        var line = line
        let result = line.withUTF8 { bytes in Result { () throws(RecordError) in try decode(bytes) } }
        return try result.get()
    }
}

extension LabelLineDecoder {
    public func decode(_ line: String) throws(RecordError) -> LabelRecord {
        var line = line
        let result = line.withUTF8 { bytes in Result { () throws(RecordError) in try decode(bytes) } }
        return try result.get()
    }
}
