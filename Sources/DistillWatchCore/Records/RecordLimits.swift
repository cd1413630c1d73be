/// The ranges that the values of a record must fall in before the engine sees them: the
/// one validation layer that every reader (v1 lines, account records, gateway bodies) and
/// the engine itself apply.
///
/// The bounds are sanity bounds, not policy: each is far beyond any real exchange, and a
/// value outside one means a broken or hostile writer. A record with such a value is
/// rejected whole, with the field named, rather than clamped, because a clamped value would
/// be evidence DistillWatch made up. Times are bounded to 2000-01-01 … 2100-01-01, the
/// range in which traffic format v1 revision 1.1 lets a reader tell epoch seconds,
/// milliseconds, microseconds and nanoseconds apart (`shared/spec/traffic-format.md`).
public enum RecordLimits {
    /// 2000-01-01T00:00:00Z, the earliest time accepted (inclusive).
    public static let earliestTime = Timestamp(millisecondsSinceEpoch: 946_684_800_000)
    /// 2100-01-01T00:00:00Z, the end of the accepted range (exclusive).
    public static let endOfTime = Timestamp(millisecondsSinceEpoch: 4_102_444_800_000)
    /// Tokens of one exchange (`input_tokens`, `output_tokens`, `reasoning_tokens`,
    /// `max_tokens`): 100 million, a hundred times the largest context window offered in 2026.
    public static let maximumTokens = 100_000_000
    /// Tool definitions sent with one request.
    public static let maximumToolCount = 100_000
    /// Messages in one request.
    public static let maximumMessageCount = 10_000_000
    /// HTTP statuses (RFC 9110 §15: three digits, first digit 1 to 5).
    public static let statuses = 100...599
    /// `latency_ms`: one week, in milliseconds.
    public static let maximumLatencyMilliseconds = 7 * 86_400_000.0
    /// `temperature`: no provider accepts more than 2; 100 leaves room for odd scales.
    public static let maximumTemperature = 100.0
    /// Autonomous system numbers are 32-bit (RFC 6793).
    public static let asns = 0...4_294_967_295
    /// `cost_usd` of one exchange: a million dollars.
    public static let maximumCostUSD = 1_000_000.0
    /// Bytes of an identifier (`account_id`, `request_id`, `api_key_id`, campaign ids).
    public static let maximumIdentifierBytes = 1024
    /// Bytes of any other short string field (`model`, `user_agent`, `client_ip`, …).
    public static let maximumFieldBytes = 8192

    /// Whether `time` lies in the accepted range.
    @inlinable
    public static func accepts(_ time: Timestamp) -> Bool {
        time >= earliestTime && time < endOfTime
    }

    /// The reason a time is refused, for messages.
    public static var timeRangeDescription: String { "2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z" }
}

/// Why a record's value was refused: the field to blame and a reason a user can act on.
/// Readers add the file and line.
public struct RecordProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String

    public init(field: String, _ reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "field \"\(field)\": \(reason)" }
}

extension Exchange {
    /// The first value of this exchange outside ``RecordLimits``, or `nil` when every value
    /// is acceptable. Text fields (`system`, `prompt`, `response`) are not bounded here:
    /// they are reduced to sketches of fixed size.
    /// - Complexity: O(1) (string lengths are stored); ``isWithinLimits`` first, so an
    ///   acceptable exchange builds no message.
    public var problem: RecordProblem? {
        isWithinLimits ? nil : firstProblem
    }

    /// Whether every value lies within ``RecordLimits`` (exactly when ``problem`` is `nil`):
    /// the same bounds as ``firstProblem`` as plain comparisons, without the field names
    /// and messages each check there passes along (1,560 instructions an exchange by
    /// callgrind, against about 100 for this).
    /// - Complexity: O(1).
    public var isWithinLimits: Bool {
        typealias L = RecordLimits
        func identifier(_ s: String?) -> Bool { L.accepts(identifier: s) }
        func short(_ s: String?) -> Bool { L.accepts(shortString: s) }
        func count(_ v: Int?, _ maximum: Int) -> Bool { L.accepts(count: v, maximum: maximum) }
        func measure(_ v: Double?, _ maximum: Double) -> Bool { L.accepts(measure: v, maximum: maximum) }
        return L.accepts(time) && identifier(accountID) && identifier(requestID) && identifier(apiKeyID)
            && count(inputTokens, L.maximumTokens) && count(outputTokens, L.maximumTokens)
            && count(reasoningTokens, L.maximumTokens) && count(maxTokens, L.maximumTokens)
            && count(toolCount, L.maximumToolCount) && count(messageCount, L.maximumMessageCount)
            && (status.map { L.statuses.contains($0) } ?? true)
            && measure(latencyMilliseconds, L.maximumLatencyMilliseconds) && measure(temperature, L.maximumTemperature)
            && (asn.map { L.asns.contains($0) } ?? true)
            && short(model) && short(operation) && short(finishReason) && short(clientIP) && short(country)
            && short(userAgent) && short(clientFingerprint) && identifier(endUserID) && identifier(batchID)
            && short(reasoningEffort) && identifier(reasoningReplayOf) && measure(costUSD, L.maximumCostUSD)
    }

    /// The first value outside ``RecordLimits`` with its field and a reason, checked field
    /// by field in record order; `nil` when there is none.
    /// - Complexity: O(1).
    var firstProblem: RecordProblem? {
        if let p = RecordLimits.problem(time: time, field: "time") { return p }
        if let p = RecordLimits.problem(identifier: accountID, field: "account_id") { return p }
        if let p = RecordLimits.problem(identifier: requestID, field: "request_id") { return p }
        if let p = RecordLimits.problem(identifier: apiKeyID, field: "api_key_id") { return p }
        if let p = RecordLimits.problem(count: inputTokens, field: "input_tokens", maximum: RecordLimits.maximumTokens) { return p }
        if let p = RecordLimits.problem(count: outputTokens, field: "output_tokens", maximum: RecordLimits.maximumTokens) { return p }
        if let p = RecordLimits.problem(count: reasoningTokens, field: "reasoning_tokens", maximum: RecordLimits.maximumTokens) { return p }
        if let p = RecordLimits.problem(count: maxTokens, field: "max_tokens", maximum: RecordLimits.maximumTokens) { return p }
        if let p = RecordLimits.problem(count: toolCount, field: "tool_count", maximum: RecordLimits.maximumToolCount) { return p }
        if let p = RecordLimits.problem(count: messageCount, field: "message_count", maximum: RecordLimits.maximumMessageCount) { return p }
        if let status, !RecordLimits.statuses.contains(status) {
            return RecordProblem(field: "status", "\(status) is not an HTTP status (100 to 599)")
        }
        if let p = RecordLimits.problem(measure: latencyMilliseconds, field: "latency_ms",
                                        maximum: RecordLimits.maximumLatencyMilliseconds, unit: " ms") { return p }
        if let p = RecordLimits.problem(measure: temperature, field: "temperature", maximum: RecordLimits.maximumTemperature, unit: "") {
            return p
        }
        if let asn, !RecordLimits.asns.contains(asn) {
            return RecordProblem(field: "asn", "\(asn) is not an autonomous system number (0 to 4294967295)")
        }
        if let p = RecordLimits.problem(shortString: model, field: "model") { return p }
        if let p = RecordLimits.problem(shortString: operation, field: "operation") { return p }
        if let p = RecordLimits.problem(shortString: finishReason, field: "finish_reason") { return p }
        if let p = RecordLimits.problem(shortString: clientIP, field: "client_ip") { return p }
        if let p = RecordLimits.problem(shortString: country, field: "country") { return p }
        if let p = RecordLimits.problem(shortString: userAgent, field: "user_agent") { return p }
        if let p = RecordLimits.problem(shortString: clientFingerprint, field: "client_fingerprint") { return p }
        if let p = RecordLimits.problem(identifier: endUserID, field: "end_user_id") { return p }
        if let p = RecordLimits.problem(identifier: batchID, field: "batch_id") { return p }
        if let p = RecordLimits.problem(shortString: reasoningEffort, field: "reasoning_effort") { return p }
        if let p = RecordLimits.problem(identifier: reasoningReplayOf, field: "reasoning_replay_of") { return p }
        if let p = RecordLimits.problem(measure: costUSD, field: "cost_usd", maximum: RecordLimits.maximumCostUSD, unit: " USD") { return p }
        return nil
    }
}

extension Exchange {
    /// This exchange without its optional values that lie outside ``RecordLimits``, and the
    /// names of the fields removed; `nil` when its time or account is outside them.
    ///
    /// For what a gateway check learns: the check was answered, so the request happened,
    /// and one odd header (an 8 KB user agent) must not keep it out of the account's
    /// traffic. Records read from logs are still refused whole (see the type's discussion).
    /// - Complexity: O(fields) checks of ``problem``.
    public func withoutValuesOutsideLimits() -> (exchange: Exchange, removed: [String])? {
        var e = self
        var removed: [String] = []
        while let p = e.problem {
            guard e.removeValue(of: p.field) else { return nil }
            removed.append(p.field)
        }
        return (e, removed)
    }

    /// Clears the optional field named `field` (its v1 name); `false` for a required one.
    private mutating func removeValue(of field: String) -> Bool {
        switch field {
        case "request_id": requestID = nil
        case "api_key_id": apiKeyID = nil
        case "input_tokens": inputTokens = nil
        case "output_tokens": outputTokens = nil
        case "reasoning_tokens": reasoningTokens = nil
        case "max_tokens": maxTokens = nil
        case "tool_count": toolCount = nil
        case "message_count": messageCount = nil
        case "status": status = nil
        case "latency_ms": latencyMilliseconds = nil
        case "temperature": temperature = nil
        case "asn": asn = nil
        case "model": model = nil
        case "operation": operation = nil
        case "finish_reason": finishReason = nil
        case "client_ip": clientIP = nil
        case "country": country = nil
        case "user_agent": userAgent = nil
        case "client_fingerprint": clientFingerprint = nil
        case "end_user_id": endUserID = nil
        case "batch_id": batchID = nil
        case "reasoning_effort": reasoningEffort = nil
        case "reasoning_replay_of": reasoningReplayOf = nil
        case "cost_usd": costUSD = nil
        default: return false
        }
        return true
    }
}

extension AccountRecord {
    /// The first value of this record outside ``RecordLimits``, or `nil`.
    /// - Complexity: O(1) plus the lengths of its string fields.
    public var problem: RecordProblem? {
        if let p = RecordLimits.problem(identifier: accountID, field: "account_id") { return p }
        if let created, let p = RecordLimits.problem(time: created, field: "created") { return p }
        if let p = RecordLimits.problem(shortString: tier, field: "tier") { return p }
        if let p = RecordLimits.problem(shortString: paymentFingerprint, field: "payment_fingerprint") { return p }
        if let p = RecordLimits.problem(shortString: emailDomain, field: "email_domain") { return p }
        if let p = RecordLimits.problem(shortString: declaredCountry, field: "declared_country") { return p }
        if let p = RecordLimits.problem(shortString: paymentCountry, field: "payment_country") { return p }
        if let p = RecordLimits.problem(shortString: plan, field: "plan") { return p }
        if let p = RecordLimits.problem(measure: planPriceUSD, field: "plan_price_usd", maximum: RecordLimits.maximumCostUSD, unit: " USD") {
            return p
        }
        return nil
    }
}

extension RecordLimits {
    // The bounds, once: ``Exchange/isWithinLimits`` asks these, and each `problem` below
    // asks the same before it builds its message. Absent values are accepted.
    @inline(__always) static func accepts(identifier: String?) -> Bool {
        guard let identifier else { return true }
        let n = identifier.utf8.count
        return n > 0 && n <= maximumIdentifierBytes && firstNUL(in: identifier) == nil
    }

    /// The byte offset of the first NUL (U+0000) in `s`, or `nil`. Ids are names, and a
    /// NUL in one is cut off by C strings (SQLite's text binding among them): `acct` and
    /// `acct\0x` would be one subject in the log and two accounts in the engine. Other
    /// control characters pass (a tab in an id survives the log, ClickHouse and the
    /// reports' escaping, and CI proves it). Eight bytes at a time (the "has zero byte"
    /// test of Anderson's bit-twiddling hacks).
    /// - Complexity: O(n) in the bytes.
    @inline(__always) public static func firstNUL(in s: String) -> Int? {
        if let found = s.utf8.withContiguousStorageIfAvailable({ Self.firstZeroByte(in: UnsafeRawBufferPointer($0)) }) {
            return found
        }
        return s.utf8.firstIndex(of: 0).map { s.utf8.distance(from: s.utf8.startIndex, to: $0) }
    }

    static func firstZeroByte(in bytes: UnsafeRawBufferPointer) -> Int? {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        var i = 0
        while i + 8 <= bytes.count {
            let x = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if (x &- ones) & ~x & highs != 0 { break }
            i += 8
        }
        while i < bytes.count {
            if bytes[i] == 0 { return i }
            i += 1
        }
        return nil
    }

    @inline(__always) static func accepts(shortString: String?) -> Bool {
        (shortString?.utf8.count ?? 0) <= maximumFieldBytes
    }

    @inline(__always) static func accepts(count: Int?, maximum: Int) -> Bool {
        count.map { $0 >= 0 && $0 <= maximum } ?? true
    }

    @inline(__always) static func accepts(measure: Double?, maximum: Double) -> Bool {
        measure.map { $0.isFinite && $0 >= 0 && $0 <= maximum } ?? true
    }

    /// A time outside the accepted range.
    public static func problem(time: Timestamp, field: String) -> RecordProblem? {
        guard !accepts(time) else { return nil }
        let shown = time.millisecondsSinceEpoch > -62_135_596_800_000 && time.millisecondsSinceEpoch < 253_402_300_800_000
            ? time.rfc3339 : "\(time.millisecondsSinceEpoch) ms since the epoch"
        return RecordProblem(field: field, "\(shown) is outside the accepted range \(timeRangeDescription)")
    }

    /// An empty or overlong identifier.
    public static func problem(identifier: String?, field: String) -> RecordProblem? {
        guard !accepts(identifier: identifier), let identifier else { return nil }
        if identifier.isEmpty { return RecordProblem(field: field, "is empty") }
        let n = identifier.utf8.count
        guard n <= maximumIdentifierBytes else {
            return RecordProblem(field: field, "is \(n) bytes long; at most \(maximumIdentifierBytes) are accepted")
        }
        if let at = firstNUL(in: identifier) {
            return RecordProblem(field: field, "holds a NUL character (U+0000 at byte \(at)), which C strings and SQLite cut off")
        }
        return nil
    }

    static func problem(shortString: String?, field: String) -> RecordProblem? {
        guard !accepts(shortString: shortString), let n = shortString?.utf8.count else { return nil }
        return RecordProblem(field: field, "is \(n) bytes long; at most \(maximumFieldBytes) are accepted")
    }

    /// A negative or absurd count.
    public static func problem(count: Int?, field: String, maximum: Int) -> RecordProblem? {
        guard !accepts(count: count, maximum: maximum), let count else { return nil }
        if count < 0 { return RecordProblem(field: field, "\(count) is negative") }
        if count > maximum { return RecordProblem(field: field, "\(count) is more than \(maximum), the most accepted") }
        return nil
    }

    /// A measurement that is not finite, negative, or absurd.
    public static func problem(measure: Double?, field: String, maximum: Double, unit: String) -> RecordProblem? {
        guard !accepts(measure: measure, maximum: maximum), let measure else { return nil }
        if !measure.isFinite { return RecordProblem(field: field, "is not a finite number") }
        if measure < 0 { return RecordProblem(field: field, "\(measure)\(unit) is negative") }
        if measure > maximum { return RecordProblem(field: field, "\(measure)\(unit) is more than \(maximum)\(unit), the most accepted") }
        return nil
    }
}
